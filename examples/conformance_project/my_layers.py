"""Your layers: drop-ins for Keras's, to be checked against built-in Keras inside your own test suite."""

import keras

import keras_cnn_ref


@keras.saving.register_keras_serializable(package="my_layers")
class MyConv2D(keras_cnn_ref.Conv2D):
    """A Conv2D under a class name of its own. Keras keys a layer's weights in .weights.h5 files by its class
    name, so it cannot exchange weight files with built-in models: the two cases that check that are expected
    to fail (conftest.py)."""
