"""Per-layer timings: our layer against built-in Keras's, same weights, same input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from keras_cnn_ref import layers
from keras_cnn_ref._registry import available
from keras_cnn_ref.benchmark.cases import conv_flops, executed_share
from keras_cnn_ref.benchmark.report import STAGES
from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
from keras_cnn_ref.kernels import algorithms_run
from keras_cnn_ref.layers._backend import import_keras_on_jax, minor_version

keras = import_keras_on_jax()

# Each registry key: (ours, built-in).
CLASSES = {
    key: (getattr(layers, entry.class_name), getattr(keras.layers, entry.class_name))
    for key, entry in available(minor_version(keras.__version__)).items()
}


def timed_steps(layer, x: jax.Array) -> dict:
    """The layer's jitted forward pass, and forward+backward (gradients of its
    weights and input), each as a no-argument callable."""
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def forward(weights, inputs):
        return layer.stateless_call(weights, non_trainable, inputs)[0]

    def loss(weights, inputs):
        return jnp.sum(jnp.square(forward(weights, inputs).astype(jnp.float32)))

    forward_jit, gradients_jit = jax.jit(forward), jax.jit(jax.grad(loss, argnums=(0, 1)))
    return {"forward": lambda: forward_jit(trainable, x), "forward_backward": lambda: gradients_jit(trainable, x)}


def layer_steps(case: dict) -> dict:
    """Our layer and built-in Keras's, built with the same weights on the same
    input: each side's `timed_steps`."""
    ours_class, builtin_class = CLASSES[case["layer"]]
    x = jnp.asarray(np.random.default_rng(0).standard_normal(case["shape"]), case["dtype"])
    ours = ours_class(**case["args"], dtype=case["dtype"])
    builtin = builtin_class(**case["args"], dtype=case["dtype"])
    ours.build(case["shape"])
    builtin.build(case["shape"])
    builtin.set_weights(ours.get_weights())
    return {"ours": timed_steps(ours, x), "builtin": timed_steps(builtin, x)}


def measure_layer_case(case: dict, rounds: int) -> dict:
    """Median times of both passes, ours and built-in interleaved, their paired speedups, GFLOP/s for convs, and
    the algorithms our passes run (`kernels.algorithms_run`: a guarded one's fallback is traced beside it)."""
    steps = layer_steps(case)
    out_shape = CLASSES[case["layer"]][0](**case["args"]).compute_output_shape(case["shape"])
    contenders = {f"{side}/{stage}": steps[side][stage] for stage in STAGES for side in steps}  # pairs side by side
    samples = interleaved_samples(contenders, rounds)
    median_s = medians(samples)
    flops = conv_flops(case, out_shape)
    result = {
        "id": case["id"],
        "dtype": case["dtype"],
        "layer": case["layer"],
        "shape": list(case["shape"]),
        "executed_share": executed_share(case, out_shape) if flops else None,
        "algorithms": sorted(algorithm.value for algorithm in algorithms_run(steps["ours"]["forward_backward"])),
    }
    for stage, stage_flops in zip(STAGES, (flops, 3 * flops)):
        ours_s, builtin_s = median_s[f"ours/{stage}"], median_s[f"builtin/{stage}"]
        speedup = paired_speedup(samples[f"builtin/{stage}"], samples[f"ours/{stage}"])
        result[stage] = {
            "ours_ms": ours_s * 1e3,
            "builtin_ms": builtin_s * 1e3,
            "speedup": speedup,
            "ours_gflops": stage_flops / ours_s / 1e9 if flops else None,
            "builtin_gflops": stage_flops / builtin_s / 1e9 if flops else None,
        }
    return result
