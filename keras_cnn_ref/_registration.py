"""The layers join Keras's registry of custom objects as soon as Keras is imported, whichever comes first.

Keras finds the classes of a `.keras` file in that registry, which
`keras_cnn_ref.layers` fills when it is imported. `import keras_cnn_ref`
itself must not import Keras, since the kernels run without it. So when
Keras is not imported yet, the package leaves a one-shot finder on
`sys.meta_path` that lets Keras load as usual and then imports the layers,
on the JAX backend only. `import keras_cnn_ref; import keras;
keras.saving.load_model(...)` then works as it would if the package
imported Keras itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys


def register_with_keras() -> None:
    """Registers the layers now if Keras is imported, else as soon as it is."""
    if "keras" in sys.modules:
        _register(sys.modules["keras"])
    elif not any(isinstance(finder, _AfterKerasImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())


def _register(keras) -> None:
    """Imports the layers (which registers them) when Keras runs on JAX; on other backends they cannot run."""
    if keras.backend.backend() == "jax":
        importlib.import_module("keras_cnn_ref.layers")


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds Keras through the other finders, and registers the layers once Keras's module has run.

    It leaves `sys.meta_path` when Keras runs, not when Keras is found: a
    library may look Keras up (`importlib.util.find_spec`) without importing it.
    """

    _searching = False  # True while this finder asks the others, which must not lead back to it

    def find_spec(self, name, path, target=None):
        if name != "keras" or self._searching:
            return None
        self._searching = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._searching = False
        if spec is not None and spec.loader is not None:
            run_keras = spec.loader.exec_module

            def exec_module(module) -> None:
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                run_keras(module)
                _register(module)

            spec.loader.exec_module = exec_module
        return spec
