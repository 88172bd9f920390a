"""Project-wide guarantees: explicit kernels only, pure kernel modules, runnable docs."""

import ast
import doctest
import importlib
import pathlib
import re

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import keras_cnn_ref
from keras_cnn_ref import layers
from keras_cnn_ref.compat.model_level import XLA_WINDOW_PRIMITIVES, traced_primitives
from keras_cnn_ref.layers import Conv2D, MaxPooling2D

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_cnn_ref"
FORBIDDEN = re.compile(r"(conv_general_dilated|conv_general_dilated_patches|jnp\.convolve|jnp\.correlate)\b"
                       r"|ops\.(conv|max_pool|average_pool|depthwise_conv)\(")


def test_no_forbidden_op_is_named_in_the_package():
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in PACKAGE.rglob("*.py")
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if FORBIDDEN.search(line)]
    assert not hits


def test_kernel_modules_import_jax_numpy_and_each_other_only():
    allowed = {"jax", "numpy", "__future__", "functools", "itertools", "math", "numbers", "operator", "collections",
               "typing"}
    for path in (PACKAGE / "kernels").glob("*.py"):
        tree = ast.parse(path.read_text())
        absolute = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        absolute += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
        relative_levels = {node.level for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
        assert {name.split(".")[0] for name in absolute} <= allowed, (path, absolute)
        assert relative_levels <= {1}, path  # siblings inside kernels/ only


@pytest.mark.parametrize("layer, shape", [
    (Conv2D(4, 3, padding="same", groups=2), (2, 9, 9, 4)),
    (Conv2D(32, 6, dilation_rate=2, strides=1), (2, 16, 16, 8)),
    (MaxPooling2D(3, 2, padding="same"), (2, 9, 9, 4)),
    (layers.Conv1D(4, 3, padding="causal", dilation_rate=2), (2, 9, 4)),
    (layers.Conv3D(4, 2, padding="same", groups=2), (2, 5, 4, 3, 4)),
    (layers.MaxPooling1D(3, 2, padding="same"), (2, 9, 4)),
    (layers.MaxPooling3D(2), (2, 4, 4, 4, 2)),
    (layers.AveragePooling1D(3, 2, padding="same"), (2, 9, 4)),
    (layers.AveragePooling2D(3, 2, padding="same"), (2, 9, 9, 4)),
    (layers.AveragePooling3D(2, padding="same"), (2, 5, 4, 3, 2)),
], ids=["conv-groups", "conv-dilated", "maxpool", "conv1d-causal", "conv3d", "maxpool1d", "maxpool3d", "avgpool1d",
        "avgpool2d", "avgpool3d"])
def test_xla_convolution_is_never_traced_forward_or_backward(layer, shape):
    layer.build(shape)
    trainable = [v.value for v in layer.trainable_variables]

    def loss(trainable, x):
        return jnp.sum(layer.stateless_call(trainable, [], x)[0] ** 2)

    jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(trainable, jnp.ones(shape))
    used = traced_primitives(jaxpr.jaxpr)
    assert not used & XLA_WINDOW_PRIMITIVES, used


DOCTEST_MODULES = ["keras_cnn_ref.kernels._geometry", "keras_cnn_ref.kernels._conv", "keras_cnn_ref.kernels._pool",
                   "keras_cnn_ref.layers._conv", "keras_cnn_ref.layers._pool", "keras_cnn_ref.models",
                   "keras_cnn_ref.compat.compare", "keras_cnn_ref.compat.report", "keras_cnn_ref.compat.harness",
                   "keras_cnn_ref.compat.suite", "keras_cnn_ref.benchmark.timing"]


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    globs = {"np": np, "jnp": jnp, "keras": keras, **vars(layers), **vars(module)}
    result = doctest.testmod(module, globs=globs, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def _readme_command(name):
    """The command in the README's quickstart block tagged `name`."""
    text = (ROOT / "README.md").read_text()
    return re.search(rf"<!-- {name} -->\n```bash\n(.+?)\n```", text, re.S).group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    ci_commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                   if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))]
    assert ci_commands == [_readme_command("test-command")]


def test_version_is_the_one_in_pyproject():
    assert f'version = "{keras_cnn_ref.__version__}"' in (ROOT / "pyproject.toml").read_text()
