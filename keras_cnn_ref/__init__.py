"""keras-cnn-ref: reference convolution and pooling for Keras 3 on JAX.

Two ways in. Swap the layer classes:

>>> from keras_cnn_ref import Conv2D, MaxPooling2D   # instead of keras.layers's

or leave the model alone and route Keras's own ops (`keras_cnn_ref.plugin`):

>>> from keras_cnn_ref import plugin
>>> plugin.enable()   # keras.ops.conv, max_pool, average_pool, ... on these kernels
>>> plugin.disable()

Either way the math is explicit `jax.lax` window kernels (`keras_cnn_ref.kernels`),
in 1, 2 and 3 dimensions: convolutions plain, transposed, depthwise and
separable, and max, average and adaptive pooling (`_registry.LAYERS`).

Importing this package does not import Keras: `keras_cnn_ref.kernels` runs
without it, whatever Keras's backend. The layers load when first used, or
when Keras is imported on JAX, which registers them for `.keras` files
(`_registration`). Until Keras is imported, importing this package makes JAX
the backend Keras will choose, unless `KERAS_BACKEND` names another.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

from keras_cnn_ref._registration import register_with_keras
from keras_cnn_ref._registry import LAYERS

if "keras" not in sys.modules:  # Keras reads KERAS_BACKEND once, when it is first imported
    os.environ.setdefault("KERAS_BACKEND", "jax")
register_with_keras()

# The layer classes, loaded from keras_cnn_ref.layers (and so with Keras) when first asked for.
LAYER_NAMES = tuple(entry.class_name for entry in LAYERS.values())

if TYPE_CHECKING:
    from keras_cnn_ref.layers import *  # noqa: F403 - the names in LAYER_NAMES

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in LAYER_NAMES:
        layers = importlib.import_module("keras_cnn_ref.layers")
        if not hasattr(layers, name):  # a layer newer than this Keras
            since = ".".join(map(str, next(e.since for e in LAYERS.values() if e.class_name == name)))
            raise AttributeError(
                f"keras_cnn_ref.{name} needs Keras {since} or newer, which brought Keras's own. "
                f"Received: keras.__version__={sys.modules['keras'].__version__!r}"
            )
        return getattr(layers, name)
    raise AttributeError(f"module 'keras_cnn_ref' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *LAYER_NAMES})
