"""The layers serialize under this package's registered names, which are Keras's class names.

Configs, weight files and `.keras` files are compared with built-in Keras's
in `compat/` (section "serialization").
"""

import keras
import pytest

from keras_cnn_ref import layers
from keras_cnn_ref._registry import CONVOLUTIONS, available
from keras_cnn_ref.layers._backend import minor_version

pytestmark = pytest.mark.quick

KNOWN = available(minor_version(keras.__version__))
NAMES = [entry.class_name for entry in KNOWN.values()]


def test_every_layer_is_exported():
    assert sorted(name for name in vars(layers) if not name.startswith("_") and name[0].isupper()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_serialized_layers_name_this_package_and_keep_keras_class_names(name):
    cls = getattr(layers, name)
    assert cls.__name__ == name and issubclass(cls, getattr(keras.layers, name))
    kind = next(entry.kind for entry in KNOWN.values() if entry.class_name == name)
    layer = cls(2) if kind not in CONVOLUTIONS or kind == "depthwise" else cls(2, 3)
    assert keras.saving.serialize_keras_object(layer)["registered_name"] == f"keras_cnn_ref>{name}"
    assert type(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))) is cls
