"""Section "documented_model": the MNIST model of the notes against built-in Keras.

Each layer's output shape and parameter count must equal the documented ones
and built-in Keras's. With built-in's weights copied in, every layer's output,
and the gradients with respect to every weight and the input, must equal
built-in's within the float32 tolerance.
"""

from __future__ import annotations

import numpy as np

from keras_cnn_ref.compat.compare import TOLERANCES, agree, compare
from keras_cnn_ref.compat.harness import compare_outputs_and_grads
from keras_cnn_ref.compat.report import Result, results_from
from keras_cnn_ref.models import DOCUMENTED_LAYERS, TOTAL_PARAMS, documented_model, keras

SECTION = "documented_model"


def _layer_outputs(model, x) -> list[np.ndarray]:
    probe = keras.Model(model.layers[0].input, [layer.output for layer in model.layers])
    return [np.asarray(output) for output in probe(x)]


def check_documented_model(conv2d, maxpool2d, batch: int = 16, seed: int = 0) -> list[Result]:
    """Compares the documented model built with `conv2d`/`maxpool2d` with built-in's."""
    builtin = documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D, name="builtin")
    ours = documented_model(conv2d, maxpool2d, name="ours")
    ours.set_weights(builtin.get_weights())
    x = np.random.default_rng(seed).random((batch, 28, 28, 1)).astype("float32")  # pixels in [0, 1)
    tolerance = TOLERANCES["float32"]
    results = []
    layers = zip(DOCUMENTED_LAYERS, ours.layers, builtin.layers, _layer_outputs(ours, x), _layer_outputs(builtin, x))
    for spec, ours_layer, builtin_layer, ours_out, builtin_out in layers:
        results += results_from(SECTION, spec["id"], {
            "output shape": agree(ours=tuple(ours_layer.output.shape[1:]),
                                  builtin=tuple(builtin_layer.output.shape[1:]), documented=spec["output_shape"]),
            "params": agree(ours=ours_layer.count_params(), builtin=builtin_layer.count_params(),
                            documented=spec["params"]),
            "output": compare(ours_out, builtin_out, tolerance),
        })
    results += results_from(SECTION, "model", {
        "total params": agree(ours=ours.count_params(), builtin=builtin.count_params(), documented=TOTAL_PARAMS),
        **compare_outputs_and_grads(ours, builtin, x, tolerance),
    })
    return results
