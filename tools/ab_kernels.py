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
from keras_cnn_ref.benchmark.cases import LAYER_CASES
from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
from keras_cnn_ref.kernels._geometry import ntuple


def base_kernels(revision: str, folder: str):
    """`keras_cnn_ref/kernels` as it was at `revision`, imported as the package `base_kernels`."""
    archive = subprocess.run(["git", "archive", revision, "keras_cnn_ref/kernels"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            member.name = member.name.replace("keras_cnn_ref/kernels", "base_kernels", 1)
            tar.extract(member, folder, filter="data")
    sys.path.insert(0, folder)
    return importlib.import_module("base_kernels")


def case_function(module, case: dict):
    """The case's kernel call with `module`'s kernels: `f(x, weights)`."""
    args, layer = case["args"], case["layer"]
    if layer.startswith("conv"):
        padding = args.get("padding", "valid")
        causal = padding == "causal"
        rank = len(case["shape"]) - 2
        extent = (ntuple(args["kernel_size"], rank, "kernel_size")[0] - 1) * args.get("dilation_rate", 1)

        def convolve(x, kernel):
            if causal:
                x = jnp.pad(x, [(0, 0), (extent, 0), (0, 0)])
            return module.conv(x, kernel, strides=args.get("strides", 1), padding="valid" if causal else padding,
                               dilation_rate=args.get("dilation_rate", 1),
                               data_format=args.get("data_format", "channels_last"))

        return convolve
    pool = module.max_pool if layer.startswith("maxpool") else module.average_pool
    return lambda x, _: pool(x, pool_size=args["pool_size"], strides=args.get("strides"),
                             padding=args.get("padding", "valid"), data_format=args.get("data_format", "channels_last"))


def operands(case: dict, dtype: str):
    rng = np.random.default_rng(0)
    args, rank = case["args"], len(case["shape"]) - 2
    x = jnp.asarray(rng.standard_normal(case["shape"]), dtype)
    if not case["layer"].startswith("conv"):
        return x, jnp.zeros((), dtype)
    channels = case["shape"][1] if args.get("data_format") == "channels_first" else case["shape"][-1]
    window = ntuple(args["kernel_size"], rank, "kernel_size")
    return x, jnp.asarray(rng.standard_normal((*window, channels, args["filters"])) * 0.1, dtype)


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
            steps = {name: forward_backward(case_function(module, case)) for name, module in
                     (("base", base), ("now", kernels))}
            samples = interleaved_samples({name: (lambda s=step: s(x, weights)) for name, step in steps.items()},
                                          options.rounds)
            median = medians(samples)
            print(f"{case['id']:28s} {median['base'] * 1e3:9.2f} {median['now'] * 1e3:9.2f} "
                  f"{paired_speedup(samples['base'], samples['now']):8.3f}", flush=True)


if __name__ == "__main__":
    main()
