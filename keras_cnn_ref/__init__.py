"""keras-cnn-ref: reference convolution and pooling for Keras 3 on JAX.

Two ways in. Swap the layer classes:

>>> from keras_cnn_ref import Conv2D, MaxPooling2D   # instead of keras.layers's

or leave the model alone and route Keras's own ops (`keras_cnn_ref.plugin`):

>>> from keras_cnn_ref import plugin
>>> plugin.enable()   # keras.ops.conv, max_pool, average_pool, ... on these kernels
>>> plugin.disable()

Either way the math is explicit `jax.lax` window kernels (`keras_cnn_ref.kernels`),
in 1, 2 and 3 dimensions.
"""

from keras_cnn_ref.layers import AveragePooling1D as AveragePooling1D
from keras_cnn_ref.layers import AveragePooling2D as AveragePooling2D
from keras_cnn_ref.layers import AveragePooling3D as AveragePooling3D
from keras_cnn_ref.layers import Conv1D as Conv1D
from keras_cnn_ref.layers import Conv2D as Conv2D
from keras_cnn_ref.layers import Conv3D as Conv3D
from keras_cnn_ref.layers import MaxPooling1D as MaxPooling1D
from keras_cnn_ref.layers import MaxPooling2D as MaxPooling2D
from keras_cnn_ref.layers import MaxPooling3D as MaxPooling3D

__version__ = "0.1.0"
