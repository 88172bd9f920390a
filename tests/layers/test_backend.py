"""Keras's backend: JAX is chosen when nothing chose one, any other gets one clear error."""

import os
import subprocess
import sys
import textwrap

import pytest


def _python(script, **env):
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          env={**environment, **env}, timeout=300)


@pytest.mark.parametrize("order", ["keras_cnn_ref-first", "keras-first"])
def test_a_backend_other_than_jax_gets_one_clear_error(order):
    imports = "import keras_cnn_ref" if order == "keras_cnn_ref-first" else "import keras; import keras_cnn_ref"
    result = _python(imports, KERAS_BACKEND="numpy")
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError:") and "'numpy'" in last_line and "KERAS_BACKEND=jax" in last_line


def test_with_no_backend_chosen_importing_selects_jax():
    result = _python("import keras_cnn_ref, keras; print(keras.backend.backend())")
    assert result.stdout.strip() == "jax", result.stderr
