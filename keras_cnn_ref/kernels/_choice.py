"""Which algorithm computes a correlation (`_plan.Algorithm`): chosen in one place.

`choose` is called with the shapes and tactics a correlation is traced
with, by its forward and its backward pass alike, so both always take the
same algorithm. It says why, so a test or the benchmark can print the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp

from ._banded import uses_band
from ._channelwise import uses_channelwise
from ._geometry import ConvGeometry
from ._plan import Algorithm, Tactics
from ._winograd import uses_winograd


class Choice(NamedTuple):
    """An algorithm, why it was chosen, and what runs instead when an operand it mixes is not finite."""

    algorithm: Algorithm
    reason: str
    fallback: Algorithm | None = None


def choose(
    padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry, tactics: Tactics, dtype: jnp.dtype
) -> Choice:
    """The algorithm `tactics` take for a correlation of a padded `(N, *Sp, C)` input with a `(*K, C/G, F)` kernel.

    >>> choose((128, 28, 28, 1), (3, 3, 1, 4), ConvGeometry((3, 3), (1, 1), (1, 1), 1, (26, 26)), Tactics(),
    ...        jnp.float32).algorithm
    <Algorithm.BANDED_ROWS: 'banded_rows'>
    """
    shapes = (padded_shape, kernel_shape, geometry)
    if tactics.algorithm is not None:
        return _named(tactics.algorithm, shapes, tactics, dtype)
    if uses_channelwise(*shapes, tactics.max_unrolled_taps):
        return Choice(Algorithm.CHANNELWISE, "one input channel a group, and a window of few taps")
    if uses_winograd(*shapes, tactics, dtype):
        return Choice(
            Algorithm.MINIMAL_FILTERING,
            f"the tactics take F({tactics.winograd_tile}, r) for this stride-1 kernel of 3 (or 5) taps an axis",
            Algorithm.TAP_LOOP,
        )
    if uses_band(*shapes, tactics.band_max_weights):
        return Choice(
            Algorithm.BANDED_ROWS, f"a 2-D band of at most {tactics.band_max_weights} weights", Algorithm.TAP_LOOP
        )
    return Choice(Algorithm.IM2COL, "the general case")


# What each algorithm can compute, whatever the tactics' limits: the condition a named algorithm must meet.
_CAN = {
    Algorithm.IM2COL: ("any convolution", lambda shapes, tactics, dtype: True),
    Algorithm.TAP_LOOP: ("a convolution of one group", lambda shapes, tactics, dtype: shapes[2].groups == 1),
    Algorithm.BANDED_ROWS: (
        "a 2-D convolution of one group and static shapes",
        lambda shapes, tactics, dtype: uses_band(*shapes, math.inf),
    ),
    Algorithm.CHANNELWISE: (
        "one input channel a group, and two groups or more",
        lambda shapes, tactics, dtype: uses_channelwise(*shapes, math.inf),
    ),
    Algorithm.MINIMAL_FILTERING: (
        "floats, one group, stride 1, 3 taps an axis (5 in 1-D), static shapes, "
        "Tactics.winograd_tile 2 or 4 and Tactics.winograd_min_channels in and out",
        lambda shapes, tactics, dtype: uses_winograd(*shapes, tactics, dtype),
    ),
}


def _named(algorithm: Algorithm, shapes: tuple, tactics: Tactics, dtype: jnp.dtype) -> Choice:
    needs, can = _CAN[algorithm]
    if not can(shapes, tactics, dtype):
        raise ValueError(
            f"The plan names the algorithm {algorithm.value!r}, which needs {needs}. Received: "
            f"input {tuple(shapes[0])} (padded), kernel {tuple(shapes[1])}, {shapes[2]}, dtype "
            f"{jnp.dtype(dtype).name}"
        )
    fallback = Algorithm.TAP_LOOP if algorithm in (Algorithm.BANDED_ROWS, Algorithm.MINIMAL_FILTERING) else None
    return Choice(algorithm, "named by the plan", fallback)
