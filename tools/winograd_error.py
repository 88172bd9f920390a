"""Minimal filtering's round-off, each tile size against the float64 reference, over a random grid.

    python tools/winograd_error.py [--draws 12] [--seed 0]

For each spatial rank (1, 2, 3), kernel taps (3, and 5 in 1-D) and plan
(im2col, F(2, r), F(4, r)), `--draws` random float32 convolutions (batch,
sizes, channels 1-128, filters, padding, dilation, normal or uniform
values) run forward and backward with that plan forced. Printed: the
largest and the median normwise error, `|ours - exact| / |exact|`, of the
output, the input gradient and the kernel gradient against
`tests/reference.py` in float64. docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from keras_cnn_ref.kernels import CPU, Plan, conv  # noqa: E402
from tests import reference  # noqa: E402

PLANS = {"im2col": CPU._replace(winograd_tile=0, band_max_weights=0), "F(2, r)": CPU._replace(winograd_tile=2),
         "F(4, r)": CPU._replace(winograd_tile=4)}


def draw(rng: np.random.Generator, rank: int, taps: int) -> dict:
    dilation = int(rng.choice([1, 1, 2]))
    spatial = tuple(int(n) for n in rng.integers(taps * dilation, taps * dilation + (12, 8, 4)[rank - 1], size=rank))
    values = rng.standard_normal if rng.random() < 0.5 else rng.random
    channels = int(rng.choice([1, 3, 16, 64, 128]))
    return {"x": values((int(rng.integers(1, 3)), *spatial, channels)),
            "kernel": values((*(taps,) * rank, channels, int(rng.choice([1, 4, 16])))),
            "padding": str(rng.choice(["valid", "same"])), "dilation": (dilation,) * rank}


def errors(case: dict, tactics) -> list[float]:
    """The normwise errors of the output, the input gradient and the kernel gradient."""
    x, kernel = case["x"].astype(np.float32), case["kernel"].astype(np.float32)
    plan = Plan(*(tactics._replace(winograd_min_channels=1),) * 2)
    out, vjp = jax.vjp(lambda a, b: conv(a, b, padding=case["padding"], dilation_rate=case["dilation"], plan=plan),
                       x, kernel)
    cotangent = np.cos(np.arange(out.size)).reshape(out.shape).astype(np.float32)
    args = {"strides": (1,) * (x.ndim - 2), "padding": case["padding"], "dilation": case["dilation"]}
    exact = [reference.conv(x, kernel, **args), *reference.conv_vjp(x, kernel, cotangent, **args)]
    ours = [out, *vjp(jnp.asarray(cotangent))]
    return [float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-300))
            for a, b in zip(ours, exact)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    print(f"{'rank':>4} {'taps':>4} {'plan':>8}   output max / median   grad x max / median   grad kernel max / median")
    for rank, taps in [(1, 3), (1, 5), (2, 3), (3, 3)]:
        rng = np.random.default_rng(options.seed)
        cases = [draw(rng, rank, taps) for _ in range(options.draws)]
        for name, tactics in PLANS.items():
            table = np.array([errors(case, tactics) for case in cases])  # (draws, 3)
            cells = [f"{table[:, i].max():9.1e} / {np.median(table[:, i]):8.1e}" for i in range(3)]
            print(f"{rank:>4} {taps:>4} {name:>8}   " + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
