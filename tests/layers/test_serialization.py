"""The layers serialize under this package's registered names, which are Keras's class names.

Configs, weight files and `.keras` files are compared with built-in Keras's
in `compat/` (section "serialization").
"""

import os
import pathlib
import re
import subprocess
import sys

import keras
import pytest

from keras_cnn_ref import layers
from keras_cnn_ref._registry import CONVOLUTIONS, available
from keras_cnn_ref.layers._backend import minor_version

pytestmark = pytest.mark.quick

KNOWN = available(minor_version(keras.__version__))
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
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


LOADER = """
import sys
import keras
try:
    keras.saving.load_model(sys.argv[1])
except Exception as error:
    print(f"{type(error).__name__}: {error}")
"""


def test_a_keras_file_loaded_without_the_package_says_what_the_readme_shows(tmp_path):
    """Verbatim but for the configs the README cuts to `{...}`: a fresh process that imports Keras alone."""
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3)])
    model.save(tmp_path / "model.keras")
    loader = [sys.executable, "-c", LOADER, str(tmp_path / "model.keras")]
    said = subprocess.run(
        loader, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=300
    ).stdout.strip()
    shown = re.search(r"<!-- keras-file-message -->\n```text\n(.*?)\n```", README.read_text(), re.S).group(1)
    assert re.fullmatch(re.escape(shown).replace(re.escape("{...}"), r"\{.*?\}"), said, re.S), said
