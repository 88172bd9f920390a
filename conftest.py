"""Test-wide setup: Keras on JAX, and small seeded random inputs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_configure(config):
    # The doctests in the package show arrays; keep their float repr stable.
    np.set_printoptions(precision=6, suppress=True)
