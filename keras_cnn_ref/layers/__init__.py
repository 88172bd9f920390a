"""Keras layers whose math runs on `keras_cnn_ref.kernels`, under Keras's own class names."""

from keras_cnn_ref.layers._conv import Conv1D as Conv1D
from keras_cnn_ref.layers._conv import Conv2D as Conv2D
from keras_cnn_ref.layers._conv import Conv3D as Conv3D
from keras_cnn_ref.layers._pool import AveragePooling1D as AveragePooling1D
from keras_cnn_ref.layers._pool import AveragePooling2D as AveragePooling2D
from keras_cnn_ref.layers._pool import AveragePooling3D as AveragePooling3D
from keras_cnn_ref.layers._pool import MaxPooling1D as MaxPooling1D
from keras_cnn_ref.layers._pool import MaxPooling2D as MaxPooling2D
from keras_cnn_ref.layers._pool import MaxPooling3D as MaxPooling3D
