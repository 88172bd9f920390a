"""Keras layers whose math runs on `keras_cnn_ref.kernels`, under Keras's own class names.

`keras_cnn_ref._registry.LAYERS` lists them, with each one's rank and kind.
Adaptive pooling exists from Keras 3.13 on, as Keras's own does.
"""

from keras_cnn_ref.layers._backend import import_keras_on_jax as _import_keras_on_jax
from keras_cnn_ref.layers._backend import minor_version as _minor_version
from keras_cnn_ref.layers._conv import Conv1D as Conv1D
from keras_cnn_ref.layers._conv import Conv2D as Conv2D
from keras_cnn_ref.layers._conv import Conv3D as Conv3D
from keras_cnn_ref.layers._conv_transpose import Conv1DTranspose as Conv1DTranspose
from keras_cnn_ref.layers._conv_transpose import Conv2DTranspose as Conv2DTranspose
from keras_cnn_ref.layers._conv_transpose import Conv3DTranspose as Conv3DTranspose
from keras_cnn_ref.layers._depthwise import DepthwiseConv1D as DepthwiseConv1D
from keras_cnn_ref.layers._depthwise import DepthwiseConv2D as DepthwiseConv2D
from keras_cnn_ref.layers._depthwise import SeparableConv1D as SeparableConv1D
from keras_cnn_ref.layers._depthwise import SeparableConv2D as SeparableConv2D
from keras_cnn_ref.layers._pool import AveragePooling1D as AveragePooling1D
from keras_cnn_ref.layers._pool import AveragePooling2D as AveragePooling2D
from keras_cnn_ref.layers._pool import AveragePooling3D as AveragePooling3D
from keras_cnn_ref.layers._pool import MaxPooling1D as MaxPooling1D
from keras_cnn_ref.layers._pool import MaxPooling2D as MaxPooling2D
from keras_cnn_ref.layers._pool import MaxPooling3D as MaxPooling3D

if _minor_version(_import_keras_on_jax().__version__) >= (3, 13):
    from keras_cnn_ref.layers._adaptive import AdaptiveAveragePooling1D as AdaptiveAveragePooling1D
    from keras_cnn_ref.layers._adaptive import AdaptiveAveragePooling2D as AdaptiveAveragePooling2D
    from keras_cnn_ref.layers._adaptive import AdaptiveAveragePooling3D as AdaptiveAveragePooling3D
    from keras_cnn_ref.layers._adaptive import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
    from keras_cnn_ref.layers._adaptive import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
    from keras_cnn_ref.layers._adaptive import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
