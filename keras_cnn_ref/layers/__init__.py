"""Keras layers whose math runs on `keras_cnn_ref.kernels`."""

from keras_cnn_ref.layers._conv import Conv2D as Conv2D
from keras_cnn_ref.layers._pool import MaxPooling2D as MaxPooling2D
