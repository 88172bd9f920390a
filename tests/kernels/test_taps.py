"""Folding a window's taps: blocks of taps, and sizes that are symbolic under `jax.export`."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.kernels import average_pool, conv, max_pool
from keras_cnn_ref.kernels._taps import TapBlocks
from keras_cnn_ref.kernels.geometry import window_offsets


@pytest.mark.parametrize(
    "window, max_taps", [((3, 4), 8), ((31, 31), 64), ((1000,), 64), ((2, 3, 5), 7), ((7, 7), 49), ((13,), 4), ((), 16)]
)
def test_blocks_cover_the_window_in_row_major_order_each_as_large_as_fits(window, max_taps):
    dilation = (2,) * len(window)
    blocks = TapBlocks(window, dilation, max_taps)
    taps = [tuple(int(s) + o for s, o in zip(start, offset)) for start in blocks.starts for offset in blocks.offsets]
    assert taps == window_offsets(window, dilation)
    assert blocks.size <= max(max_taps, 1) and blocks.size * blocks.count == math.prod(window)
    aligned = [
        d * math.prod(window[axis + 1 :])
        for axis in range(len(window))
        for d in range(1, window[axis] + 1)
        if window[axis] % d == 0
    ]
    assert blocks.size == max([size for size in aligned if size <= max_taps], default=1)


OPS = {
    "conv-valid": lambda x: conv(x, jnp.ones((3, 2, 3, 4)) / 7),
    "conv-same-strided": lambda x: conv(x, jnp.ones((3, 3, 3, 4)) / 7, strides=2, padding="same"),
    "conv-dilated": lambda x: conv(x, jnp.ones((2, 2, 3, 4)) / 7, dilation_rate=2),
    "max-pool-valid": lambda x: max_pool(x, pool_size=2),
    "max-pool-same-overlapping": lambda x: max_pool(x, pool_size=3, strides=1, padding="same"),
    "average-pool-same": lambda x: average_pool(x, pool_size=3, strides=2, padding="same"),
    "average-pool-loop": lambda x: average_pool(x, pool_size=5, padding="same"),
}


@pytest.mark.parametrize("symbols", ["b", "b, h, w"])
@pytest.mark.parametrize("op", list(OPS))
def test_programs_export_with_symbolic_batch_height_and_width(op, symbols, rng):
    """As built-in's `reduce_window` and `conv_general_dilated` export; values and gradients as the op's own."""
    names = jax.export.symbolic_shape(symbols)
    shape = (names[0], *(names[1:] if len(names) == 3 else (9, 8)), 3)
    f = OPS[op]
    loss = jax.grad(lambda x: jnp.sum(f(x) ** 2))
    exported = [jax.export.export(jax.jit(g))(jax.ShapeDtypeStruct(shape, jnp.float32)) for g in (f, loss)]
    for concrete in [(2, 9, 8, 3), (1, 12, 13, 3)] if len(names) == 3 else [(2, 9, 8, 3), (5, 9, 8, 3)]:
        x = jnp.asarray(rng.standard_normal(concrete), jnp.float32)
        np.testing.assert_allclose(exported[0].call(x), f(x), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(exported[1].call(x), loss(x), rtol=1e-5, atol=1e-5)


@pytest.mark.quick
def test_a_symbolic_size_too_small_for_the_window_gives_an_empty_output():
    (h,) = jax.export.symbolic_shape("h")
    exported = jax.export.export(jax.jit(lambda x: max_pool(x, pool_size=3)))(
        jax.ShapeDtypeStruct((1, h, 1), jnp.float32)
    )
    assert exported.call(jnp.ones((1, 2, 1))).shape == (1, 0, 1)
    np.testing.assert_array_equal(exported.call(jnp.arange(7.0).reshape(1, 7, 1)).ravel(), [2.0, 5.0])
