"""Test-wide setup: Keras on JAX, small seeded random inputs, and the docs' code blocks as tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import CodeBlockParser  # noqa: E402

from tests import doc_blocks  # noqa: E402

pytest_collect_file = Sybil(
    parsers=[CodeBlockParser("python", doc_blocks.run_python), CodeBlockParser("bash", doc_blocks.run_bash)],
    patterns=doc_blocks.DOCUMENTS,
).pytest()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_configure(config):
    # The doctests in the package show arrays; keep their float repr stable.
    np.set_printoptions(precision=6, suppress=True)


# What `nox -s oldest` runs on the oldest Keras and JAX in range (`pytest -m smoke`), with the slice of
# every conformance section that compat/test_suite.py marks: the plugin's routing and version check, the
# layers and their backend, the command, and the kernels against the float64 reference.
SMOKE = ("tests/test_plugin.py", "tests/layers/", "tests/test_cli.py::test_check_reports_the_documented_model",
         "tests/kernels/test_geometry.py", "tests/kernels/test_pool.py::test_forward_and_vjp",
         "tests/kernels/test_conv.py::test_1d_and_3d", "tests/kernels/test_conv.py::test_forward_and_vjp_match_float64_"
         "reference[chosen-")


def pytest_collection_modifyitems(items):
    """Marks the smoke subset, and the docs' blocks that build an environment of their own as slow."""
    for item in items:
        if item.nodeid.startswith(SMOKE):
            item.add_marker(pytest.mark.smoke)
        example = getattr(item, "example", None)
        if example is not None and doc_blocks.is_slow(example):
            item.add_marker(pytest.mark.slow)
