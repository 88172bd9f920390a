"""Minimal filtering's measured error bounds, and the tile the `fast` policy takes from them.

`minimal_filtering_bounds.json` (written by `tools/minimal_filtering_bounds.py`)
holds, for each rank and taps, dtype, tile and channel count (16 to 512, in
and out), the largest error of the output, the input gradient and the
kernel gradient against XLA's own convolution in that dtype (what built-in
Keras runs), normwise as the conformance suite compares
(`keras_cnn_ref.compare`). A tile holds where all three stay within
`BUDGET` of the suite's tolerance for that dtype: half of it in float32,
whose round-off grows with the draws and shapes no table holds; all of it
in 16 bits, whose sums are float32 rounded once at the end, so that a
result one unit from built-in's (as the exact algorithms' results are too,
now and then) is what the tolerance is for.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import jax.numpy as jnp

BUDGET = {"float32": 0.5, "float16": 1.0, "bfloat16": 1.0}


@functools.cache
def _data() -> dict:
    return json.loads(resources.files(__package__).joinpath("minimal_filtering_bounds.json").read_text())


def tolerances() -> dict[str, float]:
    """The conformance suite's tolerance per dtype, as the table was measured against (`compare.TOLERANCES`)."""
    return _data()["tolerances"]


@functools.cache
def _table() -> dict[tuple, float]:
    """The largest error of the three against built-in, keyed by (rank, taps, dtype, tile, channels)."""
    data = _data()
    return {
        (row["rank"], row["taps"], row["dtype"], row["tile"], row["channels"]): max(
            row[part] for part in ("output", "input_grad", "kernel_grad")
        )
        for row in data["rows"]
    }


def measured_channels() -> tuple[int, ...]:
    """The channel counts the table was measured at, smallest first."""
    return tuple(sorted({key[-1] for key in _table()}))


def fast_tile(rank: int, taps: int, dtype: jnp.dtype, channels: int, max_tile: int) -> int:
    """The largest tile, at most `max_tile`, whose bound holds at `channels` (in or out, the larger) and `dtype`.

    The bound of the next measured channel count at or above `channels`
    applies; past the largest one measured, and where no tile holds, 0.

    >>> fast_tile(2, 3, jnp.float32, 600, 4)  # past the table: never
    0
    """
    name = jnp.dtype(dtype).name
    measured = [c for c in measured_channels() if c >= channels]
    if name not in BUDGET or not measured:
        return 0
    for tile in (4, 2):
        error = _table().get((rank, taps, name, tile, measured[0]))
        if tile <= max_tile and error is not None and error <= BUDGET[name] * tolerances()[name]:
            return tile
    return 0
