"""Section "serialization": configs, weight files and `.keras` files, as built-in Keras's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

from keras_cnn_ref.compare import Comparison, compare
from keras_cnn_ref.conformance.cases import SERIALIZATION_CASES
from keras_cnn_ref.conformance.family_cases import FAMILY_SERIALIZATION_CASES
from keras_cnn_ref.conformance.harness import BUILTIN, Implementation, keras, randomize_weights
from keras_cnn_ref.conformance.suite import Section, error_text
from keras_cnn_ref.models import documented_model


def _same_config(first: dict, second: dict, names: tuple[str, str] = ("tested", "builtin")) -> Comparison:
    differing = sorted(key for key in first.keys() | second.keys() if first.get(key) != second.get(key))
    detail = "; ".join(f"{key}: {names[0]}={first.get(key)!r} | {names[1]}={second.get(key)!r}" for key in differing)
    return Comparison(not differing, detail=detail)


def _config(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours_cls = impl.layer(case["layer"])
    ours = ours_cls(**case["config"])
    builtin = BUILTIN.layer(case["layer"])(**case["config"])
    return {
        "get_config": _same_config(ours.get_config(), builtin.get_config()),
        "from_config": _same_config(
            ours_cls.from_config(ours.get_config()).get_config(), ours.get_config(), ("rebuilt", "tested")
        ),
    }


def family_model(impl: Implementation):
    """A small 2-D model of the transposed, depthwise, separable (and, from Keras 3.13, adaptive) layers."""
    layers = [
        impl.separableconv2d(4, 3, padding="same", depth_multiplier=2),
        impl.depthwiseconv2d(3, depth_multiplier=2),
        impl.conv2dtranspose(3, 3, strides=2),
    ]
    if "adaptivemaxpool2d" in impl.classes:
        layers.append(impl.adaptivemaxpool2d((4, 5)))
    return keras.Sequential([keras.Input((9, 9, 3)), *layers])


def _weights(case: dict, impl: Implementation) -> dict[str, Comparison]:
    if case.get("model") == "family":
        ours, builtin = family_model(impl), family_model(BUILTIN)
    else:
        ours = documented_model(impl.conv2d, impl.maxpool2d)
        builtin = documented_model(BUILTIN.conv2d, BUILTIN.maxpool2d)
    source, target = (builtin, ours) if case["direction"] == "from_builtin" else (ours, builtin)
    randomize_weights(source, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.weights.h5")
        source.save_weights(path)
        try:
            target.load_weights(path)
        except ValueError as error:
            if not (renamed := _renamed_classes(impl)):
                raise
            return {"load": Comparison(False, detail=f"{renamed} ({type(error).__name__}: {error_text(error)})")}
    return {
        f"weight {v.path.split('/', 1)[-1]}": compare(v.numpy(), w.numpy(), 0.0, names=("loaded", "saved"))
        for v, w in zip(target.weights, source.weights, strict=True)
    }


def _renamed_classes(impl: Implementation) -> str:
    """Why a weight file fails between classes of other names than Keras's, and the fix; "" if the names match."""
    renamed = [
        (ours.__name__, builtin.__name__)
        for ours, builtin in ((impl.conv2d, BUILTIN.conv2d), (impl.maxpool2d, BUILTIN.maxpool2d))
        if ours.__name__ != builtin.__name__
    ]
    if not renamed:
        return ""
    classes = ", ".join(f"{ours} is not {builtin}" for ours, builtin in renamed)
    fix = " and ".join(builtin for _, builtin in renamed)
    return (
        f"Keras keys each layer's weights in a .weights.h5 file by its class name, and {classes}: name the "
        f"class {fix}, as Keras does, to exchange weight files with built-in models"
    )


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
        loaded = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_LOAD_SCRIPT), folder, *modules],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "KERAS_BACKEND": "jax"},
        )
        if loaded.returncode:
            return {"load": Comparison(False, detail=error_text(loaded.stderr.strip().splitlines()[-1]))}
        expected = " ".join(impl.describe()[name] for name in ("conv2d", "maxpool2d"))
        return {
            "classes": Comparison(loaded.stdout.strip() == expected, detail=loaded.stdout.strip()),
            "predict": compare(
                np.load(os.path.join(folder, "reloaded.npy")),
                model.predict(x, verbose=0),
                0.0,
                names=("reloaded", "saved"),
            ),
        }


_RUNS = {"config": _config, "weights": _weights, "keras_file": _keras_file}
SECTION = Section.for_this_keras(
    "serialization",
    SERIALIZATION_CASES + FAMILY_SERIALIZATION_CASES,
    lambda case, impl: _RUNS[case["kind"]](case, impl),
)
