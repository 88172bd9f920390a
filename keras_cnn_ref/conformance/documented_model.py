"""Section "documented_model": the MNIST model of the notes against built-in Keras.

One case per layer: its output shape and parameter count equal the documented
ones and built-in's, and with built-in's weights copied in, its output equals
built-in's. Then the whole model: gradients with respect to every weight and
the input; a few `model.fit` steps on the same batches leave the same
weights; eager calls, `jax.jit` of `stateless_call` and `model.predict` agree.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from keras_cnn_ref.compare import TOLERANCES, Comparison, agree, compare
from keras_cnn_ref.conformance.harness import BUILTIN, Implementation, compare_outputs_and_grads
from keras_cnn_ref.conformance.suite import Section
from keras_cnn_ref.models import DOCUMENTED_LAYERS, TOTAL_PARAMS, documented_model, keras

TOLERANCE = TOLERANCES["float32"]


def _images(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, 28, 28, 1)).astype("float32")  # pixels in [0, 1)


def _twins(impl: Implementation):
    """Fresh documented models, `impl`'s and built-in's, with the same (seeded) weights."""
    keras.utils.set_random_seed(0)
    builtin = documented_model(BUILTIN.conv2d, BUILTIN.maxpool2d, name="builtin")
    ours = documented_model(impl.conv2d, impl.maxpool2d, name="ours")
    ours.set_weights(builtin.get_weights())
    return ours, builtin


@functools.lru_cache(maxsize=2)
def _layer_outputs(impl: Implementation):
    """Both models, and every layer's output on one batch (shared by the layer cases)."""
    ours, builtin = _twins(impl)
    x = _images(16)
    outputs = [
        keras.Model(model.layers[0].input, [layer.output for layer in model.layers])(x) for model in (ours, builtin)
    ]
    return ours, builtin, [[np.asarray(out) for out in model_outputs] for model_outputs in outputs]


def _layer(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours, builtin, (ours_outputs, builtin_outputs) = _layer_outputs(impl)
    index = [spec["id"] for spec in DOCUMENTED_LAYERS].index(case["id"])
    spec, ours_layer, builtin_layer = DOCUMENTED_LAYERS[index], ours.layers[index], builtin.layers[index]
    return {
        "output shape": agree(
            tested=tuple(ours_layer.output.shape[1:]),
            builtin=tuple(builtin_layer.output.shape[1:]),
            documented=spec["output_shape"],
        ),
        "params": agree(
            tested=ours_layer.count_params(), builtin=builtin_layer.count_params(), documented=spec["params"]
        ),
        "output": compare(ours_outputs[index], builtin_outputs[index], TOLERANCE),
    }


def _gradients(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours, builtin = _twins(impl)
    return {
        "total params": agree(tested=ours.count_params(), builtin=builtin.count_params(), documented=TOTAL_PARAMS),
        **compare_outputs_and_grads(ours, builtin, _images(16), TOLERANCE),
    }


def _fit(case: dict, impl: Implementation) -> dict[str, Comparison]:
    """Three SGD steps (updates linear in the gradients, so round-off stays round-off)."""
    x, y = _images(24, seed=1), np.random.default_rng(2).integers(0, 10, 24)
    models, losses = _twins(impl), []
    for model in models:
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", jit_compile=True)
        losses.append(model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"])
    ours, builtin = models
    weights = {
        f"weight {v.path.removeprefix('ours/')}": compare(v.numpy(), w.numpy(), TOLERANCE)
        for v, w in zip(ours.weights, builtin.weights, strict=True)
    }
    return {"loss": compare(losses[0], losses[1], TOLERANCE), **weights}


def _execution(case: dict, impl: Implementation) -> dict[str, Comparison]:
    ours, builtin = _twins(impl)
    x = _images(8, seed=3)
    reference = np.asarray(builtin(x))
    trainable = [v.value for v in ours.trainable_variables]
    jitted = jax.jit(lambda trainable, x: ours.stateless_call(trainable, [], x)[0])(trainable, x)
    return {
        "eager": compare(ours(x), reference, TOLERANCE),
        "jax.jit": compare(jitted, reference, TOLERANCE),
        "predict": compare(ours.predict(x, verbose=0), reference, TOLERANCE),
    }


_RUNS = {"layer": _layer, "gradients": _gradients, "fit": _fit, "execution": _execution}
# Each layer's output is computed from the layers before it: a case "follows" them (`suite.run_suite`).
_LAYER_IDS = [spec["id"] for spec in DOCUMENTED_LAYERS]
CASES = [{"id": layer, "kind": "layer", "follows": _LAYER_IDS[:i]} for i, layer in enumerate(_LAYER_IDS)] + [
    {"id": "model", "kind": "gradients", "follows": _LAYER_IDS},
    {"id": "fit-steps", "kind": "fit", "follows": _LAYER_IDS},
    {"id": "eager-jit-predict", "kind": "execution", "follows": _LAYER_IDS},
]
SECTION = Section("documented_model", CASES, lambda case, impl: _RUNS[case["kind"]](case, impl))
