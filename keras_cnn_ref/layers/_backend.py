"""The one environment requirement of the layers: Keras must run on JAX."""

import importlib
import os
import sys

_HOW_TO_FIX = "Set KERAS_BACKEND=jax in the environment before Keras is first imported."


def import_keras_on_jax():
    """Imports Keras on the JAX backend, or raises one clear ImportError.

    When nothing has chosen a backend (Keras not yet imported, KERAS_BACKEND
    unset), this chooses JAX rather than Keras's default, TensorFlow. An
    explicit other choice is never overridden: it gets the error instead.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        keras = importlib.import_module("keras")
    except ImportError as error:
        raise ImportError(
            f"Keras could not start its {os.environ.get('KERAS_BACKEND')!r} backend: {error}. "
            f"keras_cnn_ref needs the JAX backend. {_HOW_TO_FIX}"
        ) from error
    if keras.backend.backend() != "jax":
        raise ImportError(
            "keras_cnn_ref's layers run on Keras's JAX backend only, but Keras is "
            f"using the {keras.backend.backend()!r} backend. {_HOW_TO_FIX}"
        )
    return keras
