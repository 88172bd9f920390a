"""The kernels of a git revision against the working tree's, interleaved in one process.

    python tools/ab_kernels.py --base HEAD [--rounds 9] [--dtype float32] [--select mnist,3x3]

Before and after every kernel change: `keras_cnn_ref/kernels` at `--base`
is extracted into a temporary package and imported next to the working
tree's. Each benchmark layer case (`benchmark.cases.LAYER_CASES`) then runs
through both kernels, forward and backward (the gradients of a sum of
squares with respect to the input and the weights), jitted, on the same
arrays, the two interleaved round by round. Printed: each side's median
milliseconds, and the median of the rounds' base/current ratios (above 1:
the working tree is faster).
"""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from keras_cnn_ref import kernels
from keras_cnn_ref._registry import CONVOLUTIONS, LAYERS
from keras_cnn_ref.benchmark.cases import LAYER_CASES
from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
from keras_cnn_ref.kernels.geometry import ntuple


def base_kernels(revision: str, folder: str):
    """`keras_cnn_ref/kernels` as it was at `revision`, imported as the package `base_kernels`."""
    archive = subprocess.run(
        ["git", "archive", revision, "keras_cnn_ref/kernels"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            member.name = member.name.replace("keras_cnn_ref/kernels", "base_kernels", 1)
            tar.extract(member, folder, filter="data")
    sys.path.insert(0, folder)
    return importlib.import_module("base_kernels")


def case_function(module, case: dict):
    """The case's kernel call with `module`'s kernels: `f(x, weights)`, by the layer's kind (`_registry`)."""
    args, kind = case["args"], LAYERS[case["layer"]].kind
    data_format = args.get("data_format", "channels_last")
    geometry = {name: args[name] for name in ("strides", "padding", "dilation_rate") if name in args}
    if kind == "conv":
        causal = args.get("padding") == "causal"
        rank = len(case["shape"]) - 2
        extent = (ntuple(args["kernel_size"], rank, "kernel_size")[0] - 1) * args.get("dilation_rate", 1)

        def convolve(x, kernel):
            if causal:  # padded here, so that revisions without explicit pads compare too
                x = jnp.pad(x, [(0, 0), (extent, 0), (0, 0)])
            return module.conv(
                x,
                kernel,
                **{**geometry, "padding": "valid" if causal else args.get("padding", "valid")},
                data_format=data_format,
            )

        return convolve
    if kind == "conv_transpose":
        return lambda x, kernel: module.conv_transpose(
            x, kernel, output_padding=args.get("output_padding"), data_format=data_format, **geometry
        )
    if kind == "depthwise":
        return lambda x, kernel: module.depthwise_conv(x, kernel, data_format=data_format, **geometry)
    if kind == "separable":
        return lambda x, kernels_: module.separable_conv(x, *kernels_, data_format=data_format, **geometry)
    if kind.startswith("adaptive"):
        pool = getattr(module, kind)
        return lambda x, _: pool(x, args["output_size"], data_format=data_format)
    pool = getattr(module, kind)
    return lambda x, _: pool(
        x,
        pool_size=args["pool_size"],
        strides=args.get("strides"),
        padding=args.get("padding", "valid"),
        data_format=data_format,
    )


def operands(case: dict, dtype: str):
    """The case's input and weights: `(*K, C, F)`, `(*K, F, C)` transposed, `(*K, C, M)` depthwise, both separable."""
    rng = np.random.default_rng(0)
    args, rank, kind = case["args"], len(case["shape"]) - 2, LAYERS[case["layer"]].kind
    x = jnp.asarray(rng.standard_normal(case["shape"]), dtype)
    if kind not in CONVOLUTIONS:
        return x, jnp.zeros((), dtype)
    channels = case["shape"][1] if args.get("data_format") == "channels_first" else case["shape"][-1]
    window = ntuple(args["kernel_size"], rank, "kernel_size")
    multiplier = args.get("depth_multiplier", 1)
    shapes = {
        "conv": [(*window, channels, args.get("filters"))],
        "conv_transpose": [(*window, args.get("filters"), channels)],
        "depthwise": [(*window, channels, multiplier)],
        "separable": [(*window, channels, multiplier), (*(1,) * rank, channels * multiplier, args.get("filters"))],
    }
    weights = [jnp.asarray(rng.standard_normal(shape) * 0.1, dtype) for shape in shapes[kind]]
    return x, tuple(weights) if kind == "separable" else weights[0]


def forward_backward(f):
    def loss(x, weights):
        return jnp.sum(jnp.square(f(x, weights).astype(jnp.float32)))

    return jax.jit(jax.grad(loss, argnums=(0, 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the git revision to compare with (default HEAD)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--select", default="", help="comma-separated substrings of case ids")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = base_kernels(options.base, folder)
        patterns = [p for p in options.select.split(",") if p]
        print(f"{'case':28s} {'base ms':>9s} {'now ms':>9s} {'base/now':>8s}")
        for case in LAYER_CASES:
            if patterns and not any(p in case["id"] for p in patterns):
                continue
            x, weights = operands(case, options.dtype)
            steps = {
                name: forward_backward(case_function(module, case))
                for name, module in (("base", base), ("now", kernels))
            }
            samples = interleaved_samples(
                {name: (lambda s=step, x=x, weights=weights: s(x, weights)) for name, step in steps.items()},
                options.rounds,
            )
            median = medians(samples)
            print(
                f"{case['id']:28s} {median['base'] * 1e3:9.2f} {median['now'] * 1e3:9.2f} "
                f"{paired_speedup(samples['base'], samples['now']):8.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
