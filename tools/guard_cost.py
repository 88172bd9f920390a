"""What the non-finite guard costs: each case's kernels with it and without it, interleaved in one process.

    python tools/guard_cost.py [--policy fast] [--rounds 9] [--dtype float32] [--select mnist,head]

The guard (`kernels.algorithms.guard.Guarded`) checks the operands an
algorithm mixes and runs the tap loop instead where one is not finite.
Without it, the algorithm runs straight: a measurement only, since an Inf
or NaN would then spread. Each case (`benchmark.cases.LAYER_CASES`) is
compiled both ways under `--policy`, forward and forward+backward, and the
two run interleaved round by round (as `tools/ab_kernels.py` does). Printed:
the median milliseconds with and without it, and the median of the rounds'
ratios (above 1: the guard costs that much). Cases whose algorithm mixes
nothing compile to the same program and read about 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from unittest import mock

import jax
import jax.numpy as jnp
from ab_kernels import case_function, forward_backward, operands  # tools/, beside this script

from keras_cnn_ref import kernels
from keras_cnn_ref.benchmark.cases import LAYER_CASES
from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
from keras_cnn_ref.kernels.algorithms import guard


def _unguarded():
    return mock.patch.object(guard, "_guard", lambda mixed, run, instead, *operands: run(*operands))


def _compiled(f, args, policy: str, guarded: bool):
    with kernels.policy(policy), contextlib.nullcontext() if guarded else _unguarded():
        return jax.jit(f).lower(*args).compile()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="exact", help="exact (the default), fast, or an algorithm's name")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--select", default="", help="comma-separated substrings of case ids")
    options = parser.parse_args()
    patterns = [p for p in options.select.split(",") if p]
    print(f"{'case':28s} {'pass':8s} {'guard ms':>9s} {'none ms':>9s} {'ratio':>6s}")
    for case in LAYER_CASES:
        if patterns and not any(p in case["id"] for p in patterns):
            continue
        x, weights = operands(case, options.dtype)
        f = case_function(kernels, case)
        passes = {"forward": lambda x, w, f=f: jnp.sum(f(x, w)), "fwd+bwd": forward_backward(f)}
        for pass_name, step in passes.items():
            runs = {
                name: functools.partial(_compiled(step, (x, weights), options.policy, guarded), x, weights)
                for name, guarded in (("guard", True), ("none", False))
            }
            samples = interleaved_samples(runs, options.rounds)
            median = medians(samples)
            print(
                f"{case['id']:28s} {pass_name:8s} {median['guard'] * 1e3:9.2f} {median['none'] * 1e3:9.2f} "
                f"{paired_speedup(samples['guard'], samples['none']):6.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
