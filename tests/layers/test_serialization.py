"""The layers serialize under this package's registered names.

Configs, weight files and `.keras` files are compared with built-in Keras's
in `compat/` (section "serialization").
"""

import keras

from keras_cnn_ref import Conv2D, MaxPooling2D


def test_serialized_layers_name_this_package():
    assert keras.saving.serialize_keras_object(Conv2D(2, 3))["registered_name"] == "keras_cnn_ref>Conv2D"
    assert keras.saving.serialize_keras_object(MaxPooling2D())["registered_name"] == "keras_cnn_ref>MaxPooling2D"
