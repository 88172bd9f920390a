"""Pure JAX kernels: convolution and pooling written with explicit `jax.lax` window ops.

Each takes a batch with any number of spatial axes, as `keras.ops` does. Nothing
here imports Keras; the layers in `keras_cnn_ref.layers` and the backend
plugin in `keras_cnn_ref.plugin` are thin wrappers around these functions.
"""

from ._conv import NoOutputPositions as NoOutputPositions
from ._conv import conv as conv
from ._pool import average_pool as average_pool
from ._pool import max_pool as max_pool
from ._pool import pool as pool
from ._plan import ACCELERATOR as ACCELERATOR
from ._plan import CPU as CPU
from ._plan import Plan as Plan
from ._plan import Tactics as Tactics
