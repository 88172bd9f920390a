"""Pure JAX kernels: convolution and pooling written with explicit `jax.lax` window ops.

Each takes a batch with any number of spatial axes, as `keras.ops` does. Nothing
here imports Keras; the layers in `keras_cnn_ref.layers` and the backend
plugin in `keras_cnn_ref.plugin` are thin wrappers around these functions.
"""

from ._adaptive import adaptive_average_pool as adaptive_average_pool
from ._adaptive import adaptive_max_pool as adaptive_max_pool
from ._adaptive import adaptive_pool as adaptive_pool
from ._choice import Choice as Choice
from ._choice import algorithms_run as algorithms_run
from ._choice import choose as choose
from ._conv import NoOutputPositions as NoOutputPositions
from ._conv import conv as conv
from ._conv_transpose import conv_transpose as conv_transpose
from ._depthwise import depthwise_conv as depthwise_conv
from ._depthwise import separable_conv as separable_conv
from ._pool import average_pool as average_pool
from ._pool import max_pool as max_pool
from ._pool import pool as pool
from .plan import ACCELERATOR as ACCELERATOR
from .plan import CPU as CPU
from .plan import Algorithm as Algorithm
from .plan import Plan as Plan
from .plan import Policy as Policy
from .plan import Tactics as Tactics
from .plan import get_autotune as get_autotune
from .plan import get_policy as get_policy
from .plan import policy as policy
from .plan import set_policy as set_policy
