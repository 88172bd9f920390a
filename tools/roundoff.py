"""Each algorithm's round-off against the float64 reference, over a random grid: docs/data/roundoff.json.

    python tools/roundoff.py [--draws 12] [--seed 0] [--json docs/data/roundoff.json]

For each spatial rank (1, 2, 3) and kernel taps (3, and 5 in 1-D), `--draws`
random float32 convolutions (batch, sizes, channels 1-128, filters, padding,
dilation, normal or uniform values) run forward and backward with each
algorithm named by the plan, where it can compute them (banded rows: 2-D;
channel-wise: the same draws made depthwise, one input channel a group).
Recorded: the largest and the median normwise error, `|ours - exact| /
|exact|`, of the output, the input gradient and the kernel gradient against
`tests/reference.py` in float64. `tools/docs_tables.py` renders the table
the docs show.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_cnn_ref.kernels import CPU, Algorithm, Plan, conv  # noqa: E402
from tests import reference  # noqa: E402

GRID = [(1, 3), (1, 5), (2, 3), (3, 3)]  # (rank, taps)
# Each row of the table: a name, and the plan that names its algorithm (and minimal filtering's tile).
PLANS = {
    **{
        algorithm.value: Plan(policy=algorithm)
        for algorithm in Algorithm
        if algorithm is not Algorithm.MINIMAL_FILTERING
    },
    **{
        f"minimal_filtering F({tile}, r)": Plan(
            *(CPU._replace(winograd_tile=tile, winograd_min_channels=1),) * 2, policy=Algorithm.MINIMAL_FILTERING
        )
        for tile in (2, 4)
    },
}
PARTS = ("output", "input_grad", "kernel_grad")


def draw(rng: np.random.Generator, rank: int, taps: int) -> dict:
    dilation = int(rng.choice([1, 1, 2]))
    spatial = tuple(int(n) for n in rng.integers(taps * dilation, taps * dilation + (12, 8, 4)[rank - 1], size=rank))
    values = rng.standard_normal if rng.random() < 0.5 else rng.random
    channels = int(rng.choice([1, 3, 16, 64, 128]))
    return {
        "x": values((int(rng.integers(1, 3)), *spatial, channels)),
        "kernel": values((*(taps,) * rank, channels, int(rng.choice([1, 4, 16])))),
        "padding": str(rng.choice(["valid", "same"])),
        "dilation": (dilation,) * rank,
        "groups": 1,
    }


def depthwise(case: dict) -> dict:
    """The same draw with one input channel a group (at least two), each channel's filters the multiplier."""
    x = case["x"] if case["x"].shape[-1] > 1 else np.concatenate([case["x"]] * 2, axis=-1)
    kernel = np.broadcast_to(case["kernel"][..., :1, :], (*case["kernel"].shape[:-2], 1, case["kernel"].shape[-1]))
    kernel = np.concatenate([kernel] * x.shape[-1], axis=-1)  # (*K, 1, C*M)
    return {**case, "x": x, "kernel": kernel, "groups": x.shape[-1]}


def errors(case: dict, plan: Plan) -> list[float]:
    """The normwise errors of the output, the input gradient and the kernel gradient."""
    x, kernel = case["x"].astype(np.float32), case["kernel"].astype(np.float32)
    args = {"padding": case["padding"], "groups": case["groups"]}
    out, vjp = jax.vjp(lambda a, b: conv(a, b, dilation_rate=case["dilation"], plan=plan, **args), x, kernel)
    cotangent = np.cos(np.arange(out.size)).reshape(out.shape).astype(np.float32)
    exact_args = {"strides": (1,) * (x.ndim - 2), "dilation": case["dilation"], **args}
    exact = [reference.conv(x, kernel, **exact_args), *reference.conv_vjp(x, kernel, cotangent, **exact_args)]
    ours = [out, *vjp(jnp.asarray(cotangent))]
    return [
        float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-300))
        for a, b in zip(ours, exact)
    ]


def measure(draws: int, seed: int) -> list[dict]:
    rows = []
    for rank, taps in GRID:
        rng = np.random.default_rng(seed)
        cases = [draw(rng, rank, taps) for _ in range(draws)]
        for name, plan in PLANS.items():
            chosen = [depthwise(case) for case in cases] if plan.policy is Algorithm.CHANNELWISE else cases
            try:
                table = np.array([errors(case, plan) for case in chosen])  # (draws, 3)
            except ValueError:  # the algorithm cannot compute this rank or these taps
                continue
            rows.append(
                {
                    "algorithm": name,
                    "rank": rank,
                    "taps": taps,
                    **{
                        part: {"max": float(table[:, i].max()), "median": float(np.median(table[:, i]))}
                        for i, part in enumerate(PARTS)
                    },
                }
            )
            print(
                f"{rank}-D {taps} taps {name:>26}: "
                + " / ".join(f"{row['max']:.1e}" for row in (rows[-1][part] for part in PARTS)),
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(ROOT / "docs" / "data" / "roundoff.json"))
    options = parser.parse_args()
    data = {
        "draws": options.draws,
        "seed": options.seed,
        "jax": jax.__version__,
        "device": jax.devices()[0].device_kind,
        "rows": measure(options.draws, options.seed),
    }
    pathlib.Path(options.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(options.json).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
