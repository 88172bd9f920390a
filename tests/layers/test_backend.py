"""Keras's backend: JAX is chosen when nothing chose one, any other gets one clear line that says how to fix it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from keras_cnn_ref._registry import available
from keras_cnn_ref.layers._backend import minor_version


def keras_version() -> str:
    """The installed Keras's version, without importing Keras here (these tests import it in fresh processes)."""
    from importlib.metadata import version

    return version("keras")


def _python(script, tmp_path, **env):
    """`script` in a fresh interpreter, with KERAS_BACKEND unset unless given and Keras's config in `tmp_path`."""
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={**environment, "KERAS_HOME": str(tmp_path), **env},
        timeout=300,
        cwd=tmp_path,
    )


def _error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and lines[-1].startswith("ImportError: keras_cnn_ref needs Keras's JAX backend")
    return lines[-1]


@pytest.mark.parametrize(
    "imports", ["from keras_cnn_ref import Conv2D", "import keras; from keras_cnn_ref import plugin"]
)
def test_an_explicit_other_backend_gets_one_line_naming_the_variable(imports, tmp_path):
    line = _error_line(_python(imports, tmp_path, KERAS_BACKEND="numpy"))
    assert "running on 'numpy'" in line and "KERAS_BACKEND is set to 'numpy'" in line and "KERAS_BACKEND=jax" in line


def test_keras_imported_first_on_keras_json_gets_the_three_fixes(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "numpy"}))
    line = _error_line(_python("import keras; from keras_cnn_ref import MaxPooling2D", tmp_path))
    assert "running on 'numpy'" in line and "keras.json" in line
    assert "import keras_cnn_ref first" in line and "KERAS_BACKEND=jax" in line


def test_imported_first_it_selects_jax_over_keras_json(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "numpy"}))
    result = _python("import keras_cnn_ref, keras; print(keras.backend.backend())", tmp_path)
    assert result.stdout.strip() == "jax", result.stderr


@pytest.mark.quick
def test_with_no_backend_chosen_importing_selects_jax(tmp_path):
    result = _python("from keras_cnn_ref import Conv2D; import keras; print(keras.backend.backend())", tmp_path)
    assert result.stdout.strip() == "jax", result.stderr


@pytest.mark.quick
def test_importing_the_package_or_its_kernels_does_not_import_keras(tmp_path):
    script = """
        import sys
        import numpy as np
        import keras_cnn_ref
        from keras_cnn_ref import kernels
        y = kernels.max_pool(kernels.conv(np.ones((1, 6, 6, 1), "float32"), np.ones((3, 3, 1, 2), "float32")))
        print(y.shape, "keras" in sys.modules)
    """
    result = _python(script, tmp_path, KERAS_BACKEND="numpy")
    assert result.stdout.strip() == "(1, 2, 2, 2) False", result.stderr


@pytest.mark.parametrize(
    "first", ["import keras_cnn_ref; import importlib.util; importlib.util.find_spec('keras')", "import keras"]
)
def test_the_layers_are_registered_for_keras_files_whichever_is_imported_first(first, tmp_path):
    script = f"""
        {first}
        import keras, keras_cnn_ref
        print(sorted(name for name in keras.saving.get_custom_objects() if name.startswith("keras_cnn_ref>")))
    """
    result = _python(script, tmp_path, KERAS_BACKEND="jax")
    known = [entry.class_name for entry in available(minor_version(keras_version())).values()]
    assert result.stdout.strip() == str([f"keras_cnn_ref>{name}" for name in sorted(known)])


def test_the_kernel_plan_follows_keras_distribution():
    """No distribution: the default plan. DataParallel: the batch axis. ModelParallel: the filters' axis too,
    for a kernel variable laid out on its last axis alone (a bias, a plain array or another layout: none)."""
    import jax
    import numpy as np

    from keras_cnn_ref import Conv2D
    from keras_cnn_ref.kernels import Plan
    from keras_cnn_ref.layers._backend import kernel_plan
    from keras_cnn_ref.models import keras

    assert kernel_plan() == Plan()
    devices = jax.devices()[:1]
    with keras.distribution.DataParallel(devices=devices).scope():
        plan = kernel_plan(np.ones((3, 3, 1, 4)))
    assert (plan.batch_axes, plan.filter_axes, plan.mesh.axis_names) == (("batch",), (), ("batch",))
    mesh = keras.distribution.DeviceMesh((1, 1), ["batch", "model"], devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map["split.*kernel"] = (None, None, None, "model")
    layout_map["other.*kernel"] = (None, None, "model", None)
    with keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
        split, other = Conv2D(4, 3, name="split"), Conv2D(4, 3, name="other")
        for layer in (split, other):
            layer.build((None, 8, 8, 4))
        filter_axes = [kernel_plan(weight).filter_axes for weight in (split.kernel, split.bias, other.kernel)]
        assert kernel_plan(split.kernel).batch_axes == ("batch",)
    assert filter_axes == [("model",), (), ()]
