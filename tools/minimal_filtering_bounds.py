"""Minimal filtering's error bounds at 16 to 512 channels: keras_cnn_ref/kernels/minimal_filtering_bounds.json.

    python tools/minimal_filtering_bounds.py [--channels 16 64 256 512] [--seed 0]

For each rank and taps that minimal filtering computes (1-D 3 and 5 taps,
2-D 3x3, 3-D 3x3x3), each dtype (float32, float16, bfloat16), each tile
(F(2, r), F(4, r)) and each channel count (as many in as out), two draws
(normal values; uniform inputs with a Glorot-uniform kernel) run forward
and backward at stride 1. Recorded, as the conformance suite compares
(`keras_cnn_ref.compare`, normwise): the largest error of the output, the
input gradient and the kernel gradient against XLA's own convolution in
the same dtype (what built-in Keras runs, so what the suite compares
with), and against float64 sums in NumPy. The `fast` policy reads the first
(`keras_cnn_ref/kernels/bounds.py`), as the docs' table shows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from numpy.lib.stride_tricks import sliding_window_view

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_cnn_ref.compare import TOLERANCES, compare  # noqa: E402
from keras_cnn_ref.kernels import CPU, Algorithm, Plan, conv  # noqa: E402

# (rank, taps) and the input's shape without its channels: a few thousand output positions each.
GRID = {(1, 3): (8, 786), (1, 5): (8, 788), (2, 3): (8, 30, 30), (3, 3): (4, 12, 12, 12)}
DTYPES = ("float32", "float16", "bfloat16")
PARTS = ("output", "input_grad", "kernel_grad")


def float64_vjp(x: np.ndarray, kernel: np.ndarray, cotangent: np.ndarray) -> list[np.ndarray]:
    """The output, input gradient and kernel gradient of a valid stride-1 correlation, summed in float64."""
    rank = x.ndim - 2
    taps, axes = kernel.shape[:rank], tuple(range(1, rank + 1))
    windows = sliding_window_view(x, taps, axis=axes)  # (N, *O, C, *K)
    kernel_last = np.moveaxis(kernel, (rank, rank + 1), (0, 1))  # (C, F, *K)
    window_axes = (rank + 1, *range(rank + 2, 2 * rank + 2))  # C, *K
    out = np.tensordot(windows, kernel_last, axes=(window_axes, (0, *range(2, rank + 2))))  # (N, *O, F)
    positions = tuple(range(rank + 1))
    kernel_grad = np.tensordot(windows, cotangent, axes=(positions, positions))  # (C, *K, F)
    kernel_grad = np.moveaxis(kernel_grad, 0, rank)  # (*K, C, F)
    padded = np.pad(cotangent, [(0, 0), *((k - 1, k - 1) for k in taps), (0, 0)])
    flipped = np.flip(kernel, tuple(range(rank))).swapaxes(-1, -2)  # (*K, F, C)
    grad_windows = sliding_window_view(padded, taps, axis=axes)  # (N, *S, F, *K)
    input_grad = np.tensordot(
        grad_windows, np.moveaxis(flipped, (rank, rank + 1), (0, 1)), axes=(window_axes, (0, *range(2, rank + 2)))
    )  # (N, *S, C)
    return [out, input_grad, kernel_grad]


def xla_vjp(x: jax.Array, kernel: jax.Array, cotangent: jax.Array) -> list[jax.Array]:
    """The same three by XLA's own convolution, in the operands' dtype, as built-in Keras computes them."""
    rank = x.ndim - 2
    letters = "DHW"[3 - rank :]
    numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")

    def correlate(a, b):
        return lax.conv_general_dilated(a, b, (1,) * rank, "VALID", dimension_numbers=numbers)

    out, vjp = jax.vjp(correlate, x, kernel)
    return [out, *vjp(cotangent)]


def draws(rng: np.random.Generator, shape: tuple[int, ...], rank: int, taps: int, channels: int):
    """Normal values, then uniform inputs with a Glorot-uniform kernel."""
    kernel_shape = (*(taps,) * rank, channels, channels)
    yield rng.standard_normal((*shape, channels)), rng.standard_normal(kernel_shape)
    limit = np.sqrt(6 / (taps**rank * channels * 2))
    yield rng.random((*shape, channels)), rng.uniform(-limit, limit, kernel_shape)


def errors(x: np.ndarray, kernel: np.ndarray, dtype: str, tile: int) -> dict[str, list[float]]:
    """Minimal filtering's normwise errors against XLA in `dtype` and against float64, per part."""
    x, kernel = jnp.asarray(x, dtype), jnp.asarray(kernel, dtype)
    plan = Plan(*(CPU._replace(winograd_tile=tile, winograd_min_channels=1),) * 2, policy=Algorithm.MINIMAL_FILTERING)
    out, vjp = jax.vjp(lambda a, b: conv(a, b, plan=plan), x, kernel)
    cotangent = jnp.asarray(np.cos(np.arange(out.size)).reshape(out.shape), dtype)
    ours = [out, *vjp(cotangent)]
    exact = float64_vjp(*(np.asarray(a, np.float64) for a in (x, kernel, cotangent)))
    builtin = xla_vjp(x, kernel, cotangent)
    return {
        "builtin": [compare(a, b, 1.0).max_rel for a, b in zip(ours, builtin)],
        "float64": [compare(a, b, 1.0).max_rel for a, b in zip(ours, exact)],
    }


def measure(channel_counts: list[int], seed: int) -> list[dict]:
    rows = []
    for (rank, taps), shape in GRID.items():
        for channels in channel_counts:
            rng = np.random.default_rng(seed)
            cases = list(draws(rng, shape, rank, taps, channels))
            for dtype, tile in itertools.product(DTYPES, (2, 4)):
                found = [errors(x, kernel, dtype, tile) for x, kernel in cases]
                row = {"rank": rank, "taps": taps, "dtype": dtype, "tile": tile, "channels": channels}
                row |= {part: max(f["builtin"][i] for f in found) for i, part in enumerate(PARTS)}
                row["float64"] = {part: max(f["float64"][i] for f in found) for i, part in enumerate(PARTS)}
                rows.append(row)
                print(
                    f"{rank}-D {taps} taps {channels:>3} ch {dtype:>8} F({tile}): vs built-in "
                    + " / ".join(f"{row[part]:.1e}" for part in PARTS),
                    flush=True,
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 64, 256, 512])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(ROOT / "keras_cnn_ref" / "kernels" / "minimal_filtering_bounds.json"))
    options = parser.parse_args()
    data = {
        "seed": options.seed,
        "jax": jax.__version__,
        "device": jax.devices()[0].device_kind,
        "shapes": {f"{rank}-D {taps}": shape for (rank, taps), shape in GRID.items()},
        "tolerances": TOLERANCES,
        "rows": measure(options.channels, options.seed),
    }
    pathlib.Path(options.json).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
