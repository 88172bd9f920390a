"""Section "serialization": configs, weight files and `.keras` files, as built-in Keras's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

from keras_cnn_ref.compat.cases import SERIALIZATION_CASES
from keras_cnn_ref.compat.compare import Comparison, compare
from keras_cnn_ref.compat.harness import BUILTIN, Implementation, randomize_weights
from keras_cnn_ref.compat.suite import Section
from keras_cnn_ref.models import documented_model


def _same_config(ours: dict, ref: dict) -> Comparison:
    differing = sorted(key for key in ours.keys() | ref.keys() if ours.get(key) != ref.get(key))
    detail = "; ".join(f"{key}: ours={ours.get(key)!r} | ref={ref.get(key)!r}" for key in differing)
    return Comparison(not differing, detail=detail)


def _config(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours_cls = impl.layer(case["layer"])
    ours = ours_cls(**case["config"])
    builtin = BUILTIN.layer(case["layer"])(**case["config"])
    return {"get_config": _same_config(ours.get_config(), builtin.get_config()),
            "from_config": _same_config(ours_cls.from_config(ours.get_config()).get_config(), ours.get_config())}


def _weights(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours = documented_model(impl.conv2d, impl.maxpool2d)
    builtin = documented_model(BUILTIN.conv2d, BUILTIN.maxpool2d)
    source, target = (builtin, ours) if case["direction"] == "from_builtin" else (ours, builtin)
    randomize_weights(source, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.weights.h5")
        source.save_weights(path)
        target.load_weights(path)
    return {f"weight {v.path.split('/', 1)[-1]}": compare(v.numpy(), w.numpy(), 0.0)
            for v, w in zip(target.weights, source.weights, strict=True)}


_LOAD_SCRIPT = """
    import importlib, sys
    import numpy as np
    for module in sys.argv[2:]:
        importlib.import_module(module)
    import keras
    folder = sys.argv[1]
    model = keras.saving.load_model(folder + "/model.keras")
    print(" ".join(f"{type(layer).__module__}:{type(layer).__qualname__}" for layer in model.layers[:2]))
    np.save(folder + "/reloaded.npy", model.predict(np.load(folder + "/x.npy"), verbose=0))
"""


def _keras_file(case: dict, impl: Implementation) -> dict[str, Comparison]:
    """Saves the documented model, then loads it in a fresh process that imports only the implementation."""
    model = documented_model(impl.conv2d, impl.maxpool2d)
    randomize_weights(model, seed=2)
    x = np.random.default_rng(3).random((4, 28, 28, 1)).astype("float32")
    modules = sorted({impl.conv2d.__module__, impl.maxpool2d.__module__})
    with tempfile.TemporaryDirectory() as folder:
        model.save(os.path.join(folder, "model.keras"))
        np.save(os.path.join(folder, "x.npy"), x)
        loaded = subprocess.run([sys.executable, "-c", textwrap.dedent(_LOAD_SCRIPT), folder, *modules],
                                capture_output=True, text=True, timeout=300,
                                env={**os.environ, "KERAS_BACKEND": "jax"})
        if loaded.returncode:
            return {"load": Comparison(False, detail=loaded.stderr.strip().splitlines()[-1])}
        expected = " ".join(impl.describe()[name] for name in ("conv2d", "maxpool2d"))
        return {"classes": Comparison(loaded.stdout.strip() == expected, detail=loaded.stdout.strip()),
                "predict": compare(np.load(os.path.join(folder, "reloaded.npy")), model.predict(x, verbose=0), 0.0)}


_RUNS = {"config": _config, "weights": _weights, "keras_file": _keras_file}
SECTION = Section("serialization", SERIALIZATION_CASES, lambda case, impl: _RUNS[case["kind"]](case, impl))
