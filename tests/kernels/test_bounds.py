"""Minimal filtering's measured bounds (`bounds.py`): the table covers the grid, and `fast` takes its tile from it."""

import itertools

import jax.numpy as jnp
import pytest

from keras_cnn_ref.compare import TOLERANCES
from keras_cnn_ref.kernels import bounds

pytestmark = pytest.mark.quick


def test_the_table_holds_every_rank_taps_dtype_tile_and_channel_count_up_to_512():
    table = bounds._table()
    channels = bounds.measured_channels()
    assert channels == (16, 64, 256, 512)
    grid = itertools.product([(1, 3), (1, 5), (2, 3), (3, 3)], TOLERANCES, (2, 4), channels)
    assert {(rank, taps, dtype, tile, c) for (rank, taps), dtype, tile, c in grid} == set(table)
    assert all(0 <= error < 1 for error in table.values())
    assert bounds.tolerances() == TOLERANCES  # measured against the suite's tolerances


def test_fast_takes_the_largest_tile_whose_bound_holds_at_the_next_measured_channel_count(monkeypatch):
    budget = bounds.BUDGET["float32"] * TOLERANCES["float32"]
    table = {
        (2, 3, "float32", 4, 64): budget,  # holds, just
        (2, 3, "float32", 2, 64): budget / 4,
        (2, 3, "float32", 4, 256): budget * 1.01,  # does not
        (2, 3, "float32", 2, 256): budget / 2,
        (2, 3, "float32", 4, 512): budget * 3,
        (2, 3, "float32", 2, 512): budget * 2,
    }
    monkeypatch.setattr(bounds, "_table", lambda: table)
    tile = lambda channels, max_tile=4, dtype=jnp.float32: bounds.fast_tile(2, 3, dtype, channels, max_tile)  # noqa: E731
    assert (tile(20), tile(64), tile(65), tile(256), tile(300), tile(513)) == (4, 4, 2, 2, 0, 0)
    assert tile(64, max_tile=2) == 2 and tile(64, max_tile=0) == 0
    assert tile(64, dtype=jnp.float16) == 0  # not measured: never
