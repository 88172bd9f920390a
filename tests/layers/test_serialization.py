"""Configs, weight files and `.keras` files interchange with built-in Keras."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_cnn_ref import Conv2D, MaxPooling2D
from keras_cnn_ref.models import documented_model

FULL_CONV2D_CONFIG = {
    "filters": 6, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "data_format": "channels_first",
    "groups": 2, "activation": "relu", "use_bias": True, "kernel_initializer": "he_normal",
    "bias_initializer": "ones", "kernel_regularizer": "l2", "bias_regularizer": "l1",
    "activity_regularizer": keras.regularizers.L1L2(l1=0.01, l2=0.02), "kernel_constraint": "non_neg", "bias_constraint": "max_norm",
    "dtype": "mixed_bfloat16", "name": "conv",
}
FULL_MAXPOOL2D_CONFIG = {"pool_size": (3, 2), "strides": (2, 1), "padding": "same",
                         "data_format": "channels_first", "name": "pool"}


@pytest.mark.parametrize("ours_cls, builtin_cls, config", [
    (Conv2D, keras.layers.Conv2D, FULL_CONV2D_CONFIG),
    (Conv2D, keras.layers.Conv2D, {"filters": 4, "kernel_size": 3, "lora_rank": 2, "name": "conv"}),
    (MaxPooling2D, keras.layers.MaxPooling2D, FULL_MAXPOOL2D_CONFIG),
], ids=["conv2d", "conv2d-lora", "maxpool2d"])
def test_get_config_equals_builtin_and_round_trips(ours_cls, builtin_cls, config):
    ours = ours_cls(**config)
    assert ours.get_config() == builtin_cls(**config).get_config()
    assert ours_cls.from_config(ours.get_config()).get_config() == ours.get_config()


def test_serialized_layers_name_this_package():
    assert keras.saving.serialize_keras_object(Conv2D(2, 3))["registered_name"] == "keras_cnn_ref>Conv2D"
    assert keras.saving.serialize_keras_object(MaxPooling2D())["registered_name"] == "keras_cnn_ref>MaxPooling2D"


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])


def test_weight_files_interchange_with_builtin_in_both_directions(tmp_path):
    ours, builtin = documented_model(), documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D)
    for source, target, seed in [(builtin, ours, 1), (ours, builtin, 2)]:
        _randomize(source, seed)
        path = str(tmp_path / f"{source.name}{seed}.weights.h5")
        source.save_weights(path)
        target.load_weights(path)
        for target_weight, source_weight in zip(target.get_weights(), source.get_weights(), strict=True):
            np.testing.assert_array_equal(target_weight, source_weight)


def _python(script, **env):
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          env={**environment, **env}, timeout=300)


def test_keras_file_loads_in_a_fresh_process_after_import(tmp_path):
    model = documented_model()
    _randomize(model, 3)
    x = np.random.default_rng(4).random((5, 28, 28, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    model.save(tmp_path / "model.keras")
    loaded = _python(f"""
        import keras_cnn_ref, keras, numpy as np
        model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
        assert [type(layer) for layer in model.layers[:2]] == [keras_cnn_ref.Conv2D, keras_cnn_ref.MaxPooling2D]
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_array_equal(model.predict(x, verbose=0), np.load({str(tmp_path / "expected.npy")!r}))
        print("loaded")
    """)
    assert loaded.stdout.strip() == "loaded", loaded.stderr


@pytest.mark.parametrize("order", ["keras_cnn_ref-first", "keras-first"])
def test_a_backend_other_than_jax_gets_one_clear_error(order):
    imports = "import keras_cnn_ref" if order == "keras_cnn_ref-first" else "import keras; import keras_cnn_ref"
    result = _python(imports, KERAS_BACKEND="numpy")
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError:") and "'numpy'" in last_line and "KERAS_BACKEND=jax" in last_line


def test_with_no_backend_chosen_importing_selects_jax():
    result = _python("import keras_cnn_ref, keras; print(keras.backend.backend())")
    assert result.stdout.strip() == "jax", result.stderr
