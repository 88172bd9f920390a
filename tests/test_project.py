"""Project-wide guarantees: explicit kernels only, pure kernel modules, runnable docs."""

import ast
import doctest
import importlib
import pathlib
import re
import sys
import tomllib

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from packaging.requirements import Requirement

import keras_cnn_ref
from keras_cnn_ref import layers
from keras_cnn_ref._registry import LAYERS, available
from keras_cnn_ref.conformance.model_level import XLA_WINDOW_PRIMITIVES, traced_primitives
from keras_cnn_ref.layers._backend import minor_version

pytestmark = pytest.mark.quick

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_cnn_ref"
FORBIDDEN = re.compile(
    r"(conv_general_dilated|conv_general_dilated_patches|jnp\.convolve|jnp\.correlate"
    r"|lax\.conv_transpose|lax\.conv_with|reduce_window\(|select_and_\w+)\b"
    r"|ops\.(conv|max_pool|average_pool|depthwise_conv|separable_conv|conv_transpose|adaptive_\w+)\("
)


# The conformance section that makes XLA's window ops raise while built-in Keras runs on the plugin names them.
REFUSER = PACKAGE / "conformance" / "model_level.py"


def test_no_forbidden_op_is_named_in_the_package():
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path != REFUSER
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert not hits


def test_kernel_modules_import_jax_numpy_the_standard_library_and_each_other_only():
    allowed = {"jax", "numpy", *sys.stdlib_module_names}
    for path in (PACKAGE / "kernels").rglob("*.py"):
        depth = len(path.relative_to(PACKAGE / "kernels").parts)  # 1 in kernels/, 2 in kernels/algorithms/
        tree = ast.parse(path.read_text())
        absolute = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        absolute += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
        relative_levels = {node.level for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
        assert {name.split(".")[0] for name in absolute} <= allowed, (path, absolute)
        assert relative_levels <= set(range(1, depth + 1)), path  # modules inside kernels/ only


# One layer of every kind and rank in the registry, with arguments that reach its less common paths.
LAYER_EXAMPLES = {
    "conv1d": ({"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 4)),
    "conv2d": ({"filters": 4, "kernel_size": 3, "padding": "same", "groups": 2}, (2, 9, 9, 4)),
    "conv3d": ({"filters": 4, "kernel_size": 2, "padding": "same", "groups": 2}, (2, 5, 4, 3, 4)),
    "conv1dtranspose": ({"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 9, 4)),
    "conv2dtranspose": ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 4)),
    "conv3dtranspose": ({"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (1, 3, 4, 3, 2)),
    "depthwiseconv1d": ({"kernel_size": 3, "depth_multiplier": 2, "strides": 2}, (2, 9, 4)),
    "depthwiseconv2d": ({"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 9, 9, 4)),
    "separableconv1d": ({"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, (2, 9, 4)),
    "separableconv2d": ({"filters": 5, "kernel_size": 3, "strides": 2}, (2, 9, 9, 4)),
    "maxpool1d": ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 4)),
    "maxpool2d": ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 9, 4)),
    "maxpool3d": ({"pool_size": 2}, (2, 4, 4, 4, 2)),
    "avgpool1d": ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 4)),
    "avgpool2d": ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 9, 4)),
    "avgpool3d": ({"pool_size": 2, "padding": "same"}, (2, 5, 4, 3, 2)),
    "adaptivemaxpool1d": ({"output_size": 4}, (2, 9, 4)),
    "adaptivemaxpool2d": ({"output_size": (4, 3)}, (2, 9, 7, 4)),
    "adaptivemaxpool3d": ({"output_size": 2}, (2, 5, 4, 3, 2)),
    "adaptiveavgpool1d": ({"output_size": 4}, (2, 9, 4)),
    "adaptiveavgpool2d": ({"output_size": (4, 3)}, (2, 9, 7, 4)),
    "adaptiveavgpool3d": ({"output_size": 2}, (2, 5, 4, 3, 2)),
}
KNOWN = available(minor_version(keras.__version__))


def test_every_layer_in_the_registry_has_an_example():
    assert set(LAYER_EXAMPLES) == set(LAYERS)


@pytest.mark.parametrize("key", KNOWN)
def test_xla_window_ops_are_never_traced_forward_or_backward(key):
    config, shape = LAYER_EXAMPLES[key]
    layer = getattr(layers, LAYERS[key].class_name)(**config)
    layer.build(shape)
    trainable = [v.value for v in layer.trainable_variables]

    def loss(trainable, x):
        return jnp.sum(layer.stateless_call(trainable, [], x)[0] ** 2)

    jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(trainable, jnp.ones(shape))
    used = traced_primitives(jaxpr.jaxpr)
    assert not used & XLA_WINDOW_PRIMITIVES, used


def test_traced_primitives_finds_a_window_op_nested_in_scan_jit_and_cond():
    def window_op(x):
        return jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 2), (1, 1), "SAME")  # keeps the shape: a carry

    def program(x):
        nested = jax.jit(lambda x: jax.lax.cond(x.sum() > 0, window_op, window_op, x))
        return jax.lax.scan(lambda carry, _: (nested(carry), None), x, None, length=1)[0]

    jaxpr = jax.make_jaxpr(program)(jnp.ones((2, 5)))
    assert "reduce_window_sum" not in {equation.primitive.name for equation in jaxpr.jaxpr.eqns}
    assert "reduce_window_sum" in traced_primitives(jaxpr.jaxpr)


def _modules_with_examples() -> list[str]:
    """Every module of the package whose docstrings hold an example (`>>>`); of the layers' modules, those
    `keras_cnn_ref.layers` loads on this Keras (adaptive pooling's from Keras 3.13)."""
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if ">>>" in path.read_text() and not (name.startswith("keras_cnn_ref.layers.") and name not in sys.modules):
            modules.append(name)
    return modules


DOCTEST_MODULES = _modules_with_examples()


@pytest.mark.parametrize("module_name", DOCTEST_MODULES)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    globs = {"np": np, "jnp": jnp, "keras": keras, **vars(layers), **vars(module)}
    result = doctest.testmod(module, globs=globs, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def _imported(path: pathlib.Path) -> set[str]:
    """The modules `path` imports, anywhere in it (a function's lazy imports too), relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            found.add(".".join(filter(None, (base, node.module or ""))))
    return found


def test_the_library_core_never_imports_its_conformance_package():
    """The conformance package checks the library; of the library, only the command that runs it imports it."""
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "conformance" not in path.parts and any(m.startswith("keras_cnn_ref.conformance") for m in _imported(path))
    ]
    assert importers == ["keras_cnn_ref/cli.py"]


def test_the_conformance_package_never_imports_a_test_and_only_its_plugin_imports_pytest():
    imports = {path.name: {m.split(".")[0] for m in _imported(path)} for path in (PACKAGE / "conformance").glob("*.py")}
    assert len(imports) > 10 and not [name for name, found in imports.items() if found & {"tests", "compat"}]
    assert [name for name, found in imports.items() if found & {"pytest", "_pytest"}] == ["pytest_plugin.py"]


def _readme_command(name):
    """The command in the README's quickstart block tagged `name`."""
    text = (ROOT / "README.md").read_text()
    return re.search(rf"<!-- {name} -->\n```bash\n(.+?)\n```", text, re.S).group(1).strip()


def test_ci_runs_the_readme_test_command_then_the_full_tier_the_stacks_the_docs_and_the_linter():
    ci_commands = [
        line.strip().replace("step ", "")
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "set ", "cd ", "step()", "echo "))
    ]
    assert ci_commands == [
        _readme_command("test-command"),
        f"{_readme_command('full-command')} -- -m 'not quick'",
        "nox -s oldest newest docs lint",
    ]
    assert set(nox_sessions()) == {"full", "oldest", "newest", "docs", "lint"}


def nox_sessions() -> list[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any("nox.session" in ast.unparse(decorator) for decorator in node.decorator_list)
    ]


def test_the_supported_range_is_one_in_pyproject_the_plugin_nox_and_the_readme():
    from keras_cnn_ref import plugin

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(line).name: Requirement(line).specifier for line in project["dependencies"]}
    minors = [f"3.{minor}" for minor in range(8, 20)]
    assert [(3, int(v[2:])) for v in minors if f"{v}.0" in ranges["keras"]] == list(plugin.SUPPORTED_KERAS)
    noxfile = (ROOT / "noxfile.py").read_text()
    ends = {end: ast.literal_eval(re.search(rf"{end} = (\{{.*?\}})", noxfile).group(1)) for end in ("OLDEST", "NEWEST")}
    assert ends == {"OLDEST": {"keras": "3.12", "jax": "0.8"}, "NEWEST": {"keras": "3.15", "jax": "0.12"}}
    assert "3.11.9" not in ranges["keras"] and "3.12.0" in ranges["keras"] and "3.15.9" in ranges["keras"]
    assert "0.7.2" not in ranges["jax"] and "0.8.0" in ranges["jax"] and "0.12.0.1" in ranges["jax"]
    assert "0.13.0" not in ranges["jax"] and "3.16.0" not in ranges["keras"]
    assert "Keras 3.12 to 3.15 and JAX 0.8 to 0.12" in " ".join((ROOT / "docs" / "versions.md").read_text().split())


def test_version_is_the_one_in_pyproject():
    assert f'version = "{keras_cnn_ref.__version__}"' in (ROOT / "pyproject.toml").read_text()
