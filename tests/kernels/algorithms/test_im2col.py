"""im2col's tiles (bands of output rows) and blocks of taps: the float64 reference's values, flat memory, bounded compile time."""

import time

import jax
import jax.numpy as jnp
import pytest
from jax import lax

from keras_cnn_ref.kernels import CPU, Algorithm, Plan, conv
from keras_cnn_ref.kernels.algorithms.im2col import Im2col
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests.kernels.test_conv import _check_against_reference, random_cases

MiB = 2**20


def named_im2col(**tactics) -> Plan:
    """im2col named, with `tactics` on every platform."""
    return Plan(*(CPU._replace(**tactics),) * 2, policy=Algorithm.IM2COL)


# One output row a tile, blocks of at most two taps, or both.
PLANS = {
    "rows": named_im2col(chunk_bytes=1),
    "blocks": named_im2col(max_unrolled_taps=2),
    "rows-and-blocks": named_im2col(chunk_bytes=1, max_unrolled_taps=3),
}
CASES = [
    case
    for case in random_cases(12, seed=5) + random_cases(6, seed=6, rank=1) + random_cases(6, seed=7, rank=3)
    if case["shape"][0]
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["id"])
@pytest.mark.parametrize("plan", list(PLANS))
def test_tiles_and_blocks_match_float64_reference(plan, case, rng):
    _check_against_reference(case, rng, PLANS[plan])


def test_a_large_image_is_cut_into_equal_bands_of_rows_and_a_large_window_into_rows_of_taps():
    geometry = ConvGeometry((31, 31), (1, 1), (1, 1), 1, (512, 512))
    im2col = Im2col((1, 542, 542, 8), (31, 31, 8, 8), geometry, 4, CPU)
    row_bytes = 512 * 31 * 8 * 4  # one output row's columns: a block of 31 taps
    assert (im2col.blocks.size, im2col.blocks.count) == (31, 31)
    assert im2col.row_tiles * im2col.rows >= 512 and im2col.rows * row_bytes <= CPU.chunk_bytes
    assert (im2col.rows - 1) * im2col.row_tiles < 512  # even bands: the last is not mostly padding
    small = Im2col((16, 10, 10, 16), (3, 3, 16, 16), ConvGeometry((3, 3), (1, 1), (1, 1), 1, (8, 8)), 4, CPU)
    assert (small.row_tiles, small.images, small.blocks.count) == (1, 16, 1)  # small images: whole, many a tile


def _memory_and_compile_time(f, *shapes):
    """Temporary bytes and seconds to compile `f`'s forward and backward pass, on abstract shapes."""
    grad = jax.jit(jax.grad(lambda x, k: jnp.sum(f(x, k) ** 2), (0, 1)))
    start = time.perf_counter()
    compiled = grad.lower(*shapes).compile()
    return compiled.memory_analysis().temp_size_in_bytes, time.perf_counter() - start


def _xla(x, kernel):
    return lax.conv_general_dilated(x, kernel, (1,) * (x.ndim - 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize(
    "x_shape, kernel_shape",
    [
        ((1, 512, 512, 32), (7, 7, 32, 32)),  # was 4,704 MiB against 64
        ((8, 224, 224, 16), (5, 5, 16, 16)),  # was 283 against 49
        ((1, 256, 256, 16), (11, 11, 16, 16)),  # was 726 against 4
        ((1, 1024, 1024, 8), (3, 3, 8, 8)),
    ],
)
def test_memory_stays_within_a_small_multiple_of_xla_at_any_image_size(x_shape, kernel_shape):
    shapes = jax.ShapeDtypeStruct(x_shape, jnp.float32), jax.ShapeDtypeStruct(kernel_shape, jnp.float32)
    ours, _ = _memory_and_compile_time(lambda x, k: conv(x, k, padding="same"), *shapes)
    xla, _ = _memory_and_compile_time(_xla, *shapes)
    assert ours <= 1.5 * xla + 4 * CPU.chunk_bytes, (ours / MiB, xla / MiB)


@pytest.mark.parametrize("window", [11, 31, 63])
def test_compile_time_stays_within_a_small_multiple_of_xla_at_any_window_size(window):
    """Interleaved in one process, the best of three: ours against XLA's convolution."""
    shapes = (
        jax.ShapeDtypeStruct((2, 64, 64, 8), jnp.float32),
        jax.ShapeDtypeStruct((window, window, 8, 8), jnp.float32),
    )
    ours, xla = [], []
    for _ in range(3):
        ours.append(_memory_and_compile_time(lambda x, k: conv(x, k, padding="same"), *shapes)[1])
        xla.append(_memory_and_compile_time(_xla, *shapes)[1])
    assert min(ours) <= 15 * min(xla), (min(ours), min(xla))
