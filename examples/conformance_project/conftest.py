"""This project's test setup: Keras on JAX, and the conformance cases it expects to fail."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # keras_cnn_ref's layers run on Keras's JAX backend

import pytest

# What this project knows its layers do differently, with the reason; strict: a fix shows up as a failure to update.
EXPECTED_TO_FAIL = {
    "serialization/weights-h5-from-builtin": "MyConv2D is not named Conv2D: weight files key layers by class name",
    "serialization/weights-h5-to-builtin": "MyConv2D is not named Conv2D: weight files key layers by class name",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.name in EXPECTED_TO_FAIL:
            item.add_marker(pytest.mark.xfail(reason=EXPECTED_TO_FAIL[item.name], strict=True))
