"""Pure JAX kernels: convolution and pooling written with explicit `jax.lax` window ops.

Nothing here imports Keras; the layers in `keras_cnn_ref.layers` are thin
wrappers around these functions.
"""

from ._conv import conv2d as conv2d
from ._pool import max_pool2d as max_pool2d
from ._pool import pool as pool
