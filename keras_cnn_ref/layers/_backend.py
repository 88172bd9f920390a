"""The one environment requirement of the layers: Keras must run on JAX."""

import importlib
import os
import sys


def import_keras_on_jax():
    """Imports Keras on the JAX backend, or raises an ImportError of one line that says how to fix it.

    When nothing has chosen a backend (Keras not yet imported, KERAS_BACKEND
    unset), this chooses JAX rather than Keras's default, TensorFlow. An
    explicit other choice is never overridden: it gets the error instead.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        keras = importlib.import_module("keras")
    except ImportError as error:
        raise ImportError(f"keras_cnn_ref needs Keras's JAX backend, but Keras failed to start its backend "
                          f"({error}). {how_to_fix()}") from None
    if keras.backend.backend() != "jax":
        raise ImportError(f"keras_cnn_ref needs Keras's JAX backend, but Keras is running on "
                          f"{keras.backend.backend()!r}. {how_to_fix()}") from None
    return keras


def minor_version(version: str) -> tuple[int, int]:
    """`(major, minor)` of a version string.

    >>> minor_version("3.15.1")
    (3, 15)
    """
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def how_to_fix() -> str:
    """What chose the other backend, and the change that chooses JAX instead."""
    chosen = os.environ.get("KERAS_BACKEND", "jax")
    if chosen != "jax":
        return f"KERAS_BACKEND is set to {chosen!r}: set KERAS_BACKEND=jax before Python starts."
    return ("Keras was imported before keras_cnn_ref and took its backend from ~/.keras/keras.json: import "
            "keras_cnn_ref first, set KERAS_BACKEND=jax before Python starts, or put \"backend\": \"jax\" in "
            "keras.json.")
