"""keras-cnn-ref: reference Conv2D and MaxPooling2D for Keras 3 on JAX.

>>> from keras_cnn_ref import Conv2D, MaxPooling2D   # instead of keras.layers's

The layers are Keras's own classes with the math replaced by explicit
`jax.lax` window kernels (`keras_cnn_ref.kernels`).
"""

from keras_cnn_ref.layers import Conv2D as Conv2D
from keras_cnn_ref.layers import MaxPooling2D as MaxPooling2D

__version__ = "0.1.0"
