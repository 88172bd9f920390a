"""Test-wide setup: Keras on JAX, the two tiers, small seeded random inputs, and the docs' code blocks as tests.

Two tiers. `pytest` runs the quick one: the tests marked `quick` where they
are defined (a module's `pytestmark`, a test's decorator, a parameter's
`marks`), a few minutes on two cores. `pytest --full` runs every test, the
quick ones included (`nox -s full`). `tests/test_tiers.py` proves from the
layer registry and the algorithm enumeration that the quick tier still
reaches every layer kind and every algorithm.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser

from tests import doc_blocks

pytest_collect_file = Sybil(
    parsers=[CodeBlockParser("python", doc_blocks.run_python), CodeBlockParser("bash", doc_blocks.run_bash)],
    patterns=doc_blocks.DOCUMENTS,
).pytest()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_addoption(parser):
    parser.addoption(
        "--full", action="store_true", help="run the full tier: every test, not only those marked quick (nox -s full)"
    )


def pytest_configure(config):
    # The doctests in the package show arrays; keep their float repr stable.
    np.set_printoptions(precision=6, suppress=True)


def pytest_collection_modifyitems(config, items):
    """The docs' blocks that run join the quick tier, but those that build an environment of their own (which
    are heavy); heavy tests go first; without --full, only the quick tier is kept."""
    for item in items:
        example = getattr(item, "example", None)
        if example is not None:
            item.add_marker(pytest.mark.quick if doc_blocks.is_quick(example) else pytest.mark.heavy)
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: heavy ones first
    if config.getoption("--full"):
        return
    left_out = [item for item in items if item.get_closest_marker("quick") is None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker("quick") is not None]
