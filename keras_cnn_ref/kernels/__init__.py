"""Pure JAX kernels: convolution and pooling written with explicit `jax.lax` window ops.

Each takes a batch with 1, 2 or 3 spatial axes, as `keras.ops` does. Nothing
here imports Keras; the layers in `keras_cnn_ref.layers` and the backend
plugin in `keras_cnn_ref.plugin` are thin wrappers around these functions.
"""

from ._conv import conv as conv
from ._pool import average_pool as average_pool
from ._pool import max_pool as max_pool
from ._pool import pool as pool
