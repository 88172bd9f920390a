"""Minimal filtering: Cook and Toom's matrices, each tile size against the float64 reference, its guard and its plan."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.kernels import ACCELERATOR, CPU, Algorithm, Plan, conv, conv_transpose
from keras_cnn_ref.kernels.algorithms.minimal_filtering import Winograd, minimal_filtering, uses_winograd
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference
from tests.kernels.algorithms.test_im2col import MiB, _memory_and_compile_time, _xla
from tests.kernels.test_conv import assert_same_non_finite

TILES = (2, 4)
# The batched products of the transformed operands (forward, or either transpose), over the `A` transformed
# positions, their first axis: no other plan batches its products over a first axis.
BATCHED_PRODUCT = re.compile(r"dimension_numbers=\(\(\[\d\], \[\d\]\), \(\[0\], \[0\]\)\)")


def forced(tile: int, **tactics) -> Plan:
    """Minimal filtering named, with `tile` outputs per tile and axis, on every platform."""
    tactics = CPU._replace(winograd_tile=tile, winograd_min_channels=1, **tactics)
    return Plan(tactics, tactics, policy=Algorithm.MINIMAL_FILTERING)


def takes_minimal_filtering(f, *args) -> bool:
    return bool(BATCHED_PRODUCT.search(str(jax.make_jaxpr(f)(*args))))


@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("taps", (3, 5))
def test_the_matrices_correlate_exactly_with_input_and_output_transforms_exact_in_16_bits(tile, taps, rng):
    bt, g, at = minimal_filtering(tile, taps)
    alpha = tile + taps - 1
    assert bt.shape == (alpha, alpha) and g.shape == (alpha, taps) and at.shape == (tile, alpha)
    assert all(np.array_equal(m, m.astype(np.float16)) for m in (bt, at))
    d, w = rng.standard_normal(alpha), rng.standard_normal(taps)
    direct = [w @ d[i : i + taps] for i in range(tile)]
    np.testing.assert_allclose(at @ ((g @ w) * (bt @ d)), direct, rtol=1e-12, atol=1e-12)


def test_f_2_3_is_lavin_and_gray_s_up_to_each_product_s_sign():
    bt, g, at = minimal_filtering(2, 3)
    lavin_bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    lavin_g = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    lavin_at = [[1, 1, 1, 0], [0, 1, -1, -1]]
    sign = np.array([1, 1, 1, -1])  # infinity's row: both its transforms negated, its product unchanged
    np.testing.assert_array_equal(bt * sign[:, None], lavin_bt)
    np.testing.assert_array_equal(g, lavin_g)
    np.testing.assert_array_equal(at * sign, lavin_at)


def test_too_many_points_is_a_value_error_naming_the_tile():
    with pytest.raises(ValueError, match="tile=6, taps=5"):
        minimal_filtering(6, 5)


# x shape (channels last), kernel shape, padding, dilation, data format: each axis's paths, 1-D to 3-D.
CASES = {
    "1d-k3-same": ((2, 11, 5), (3, 5, 4), "same", 1, "channels_last"),
    "1d-k5-valid": ((2, 13, 4), (5, 4, 3), "valid", 1, "channels_last"),
    "1d-k5-causal-d2": ((2, 17, 3), (5, 3, 4), [(8, 0)], 2, "channels_last"),
    "1d-k3-d3-cf": ((3, 10, 2), (3, 2, 3), "same", 3, "channels_first"),
    "2d-same": ((2, 9, 10, 5), (3, 3, 5, 4), "same", 1, "channels_last"),
    "2d-valid-d21": ((1, 11, 7, 3), (3, 3, 3, 2), "valid", (2, 1), "channels_last"),
    "2d-cf": ((2, 8, 6, 4), (3, 3, 4, 3), "same", 1, "channels_first"),
    "3d-same": ((1, 6, 7, 5, 3), (3, 3, 3, 3, 2), "same", 1, "channels_last"),
}


def _convolve(case: str, tile: int, dtype: str, rng, **tactics):
    x_shape, kernel_shape, padding, dilation, data_format = CASES[case]
    if data_format == "channels_first":
        x_shape = (x_shape[0], x_shape[-1], *x_shape[1:-1])
    x, kernel = (jnp.asarray(rng.standard_normal(shape), dtype) for shape in (x_shape, kernel_shape))
    args = {"padding": padding, "dilation_rate": dilation, "data_format": data_format}

    def f(x, kernel):
        return conv(x, kernel, plan=forced(tile, **tactics), **args)

    assert takes_minimal_filtering(f, x, kernel)
    rank = len(kernel_shape) - 2
    reference_args = {
        "strides": (1,) * rank,
        "padding": padding,
        "dilation": (dilation,) * rank if isinstance(dilation, int) else dilation,
        "data_format": data_format,
    }
    if not isinstance(padding, str):  # causal: the reference takes the zeros as given
        x_ref = jnp.pad(x, [(0, 0), *padding, (0, 0)])
        reference_args["padding"] = "valid"
    else:
        x_ref = x
    return f, x, kernel, x_ref, reference_args


@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_forward_and_vjp_match_float64_reference(case, tile, dtype, rng):
    f, x, kernel, x_ref, reference_args = _convolve(case, tile, dtype, rng)
    out, vjp = jax.vjp(f, x, kernel)
    cotangent = jnp.asarray(rng.standard_normal(out.shape), dtype)
    expected = [
        reference.conv(x_ref, kernel, **reference_args),
        *reference.conv_vjp(x_ref, kernel, cotangent, **reference_args),
    ]
    if x_ref is not x:
        expected[1] = expected[1][:, -x.shape[1] :]  # the causal zeros' gradient dropped
    for name, ours, theirs in zip(("output", "grad x", "grad kernel"), (out, *vjp(cotangent)), expected):
        assert ours.dtype == x.dtype, name
        result = compare(ours, theirs, TOLERANCES[dtype])
        assert result.ok, f"{name}: {result}"


@pytest.mark.parametrize("tile", TILES)
def test_chunks_of_images_agree_with_the_whole_batch(tile, rng):
    """Two images a chunk (a `lax.map` forward, a `lax.scan` backward) against one chunk of all eight."""
    x, kernel = rng.standard_normal((8, 10, 10, 4)).astype("float32"), rng.standard_normal((3, 3, 4, 6))
    image_bytes = (tile + 2) ** 2 * (-(-10 // tile)) ** 2 * (4 + 6) * 4
    chunked, whole = forced(tile, chunk_bytes=image_bytes), forced(tile)  # its chunks hold twice chunk_bytes
    geometry = ConvGeometry((3, 3), (1, 1), (1, 1), 1, (10, 10))
    assert Winograd((8, 12, 12, 4), kernel.shape, geometry, chunked.cpu).chunk == 2
    assert Winograd((8, 12, 12, 4), kernel.shape, geometry, whole.cpu).chunk == 8
    results = []
    for plan in (chunked, whole):
        out, vjp = jax.vjp(lambda a, b, plan=plan: conv(a, b, padding="same", plan=plan), x, kernel.astype("float32"))
        results.append([out, *vjp(jnp.cos(out))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(jnp.abs(b).max()))


@pytest.mark.parametrize("tile", TILES)
def test_a_stride_1_transposed_convolution_takes_it_both_ways(tile, rng):
    """Its forward pass is an input gradient alone, its backward pass a kernel gradient alone."""
    x, kernel = rng.standard_normal((2, 7, 6, 5)).astype("float32"), rng.standard_normal((3, 3, 4, 5))

    def f(x, kernel):
        return conv_transpose(x, kernel, padding="same", plan=forced(tile))

    assert takes_minimal_filtering(f, x, kernel) and takes_minimal_filtering(
        lambda x, k: jax.vjp(f, x, k)[1](jnp.ones((2, 7, 6, 4))), x, kernel
    )
    out, vjp = jax.vjp(f, x, kernel.astype("float32"))
    cotangent = rng.standard_normal(out.shape)
    expected = reference.conv_transpose(x, kernel, cotangent, (1, 1), "same")
    for ours, theirs in zip((out, *vjp(cotangent.astype("float32"))), expected):
        assert compare(ours, theirs, TOLERANCES["float32"]).ok


POISONED_AT = {"x": (0, 4, 5, 1), "kernel": (1, 0, 2, 3), "cotangent": (1, 3, 3, 2)}


@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("poison", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("poisoned", [("x",), ("kernel",), ("cotangent",), ("x", "cotangent")])
def test_a_non_finite_operand_falls_back_to_the_tap_loop_and_spreads_only_as_far_as_its_windows(
    poisoned, poison, tile, rng
):
    operands = {
        "x": rng.standard_normal((2, 9, 9, 4)),
        "kernel": rng.standard_normal((3, 3, 4, 4)),
        "cotangent": rng.standard_normal((2, 9, 9, 4)),
    }
    operands["kernel"][0, 0, 1, 3] = 0.0  # an Inf meeting a zero weight makes a NaN
    for name in poisoned:
        operands[name][POISONED_AT[name]] = poison
    x, kernel, cotangent = (jnp.asarray(operands[name], jnp.float32) for name in ("x", "kernel", "cotangent"))
    out, vjp = jax.vjp(lambda a, b: conv(a, b, padding="same", plan=forced(tile)), x, kernel)
    with np.errstate(invalid="ignore"):
        expected = [
            reference.conv(x, kernel, (1, 1), "same"),
            *reference.conv_vjp(x, kernel, cotangent, (1, 1), "same"),
        ]
    for ours, theirs in zip((out, *vjp(cotangent)), expected):
        finite = assert_same_non_finite(ours, theirs)
        assert compare(np.asarray(ours)[finite], theirs[finite], TOLERANCES["float32"]).ok


@pytest.mark.quick
def test_thick_stride_1_3x3_and_1d_layers_can_take_it_and_others_cannot():
    def takes(padded, kernel, strides=1, dilation=1, groups=1, tactics=CPU, dtype=jnp.float32):
        rank = len(kernel) - 2
        out = tuple(p - (k - 1) * dilation for p, k in zip(padded[1:-1], kernel))
        geometry = ConvGeometry(kernel[:-2], (strides,) * rank, (dilation,) * rank, groups, out)
        return uses_winograd(padded, kernel, geometry, tactics, jnp.dtype(dtype))

    assert takes((32, 30, 30, 128), (3, 3, 128, 128)) and takes((32, 58, 58, 64), (3, 3, 64, 64))
    assert takes((32, 1026, 64), (3, 64, 64)) and takes((32, 1032, 32), (5, 32, 32), dilation=2)
    assert takes((8, 18, 30, 30, 16), (3, 3, 3, 16, 32))
    assert not takes((32, 30, 30, 128), (3, 3, 128, 128), tactics=ACCELERATOR)
    assert not takes((128, 15, 15, 4), (3, 3, 4, 8))  # the MNIST model's: too few channels, the band's
    assert not takes((32, 30, 30, 128), (3, 3, 128, 128), strides=2)
    assert not takes((32, 30, 30, 128), (3, 3, 64, 128), groups=2)
    assert not takes((32, 30, 30, 128), (5, 5, 128, 128))  # 5x5 only in 1-D
    assert not takes((32, 30, 30, 128), (3, 3, 128, 128), dtype=jnp.int32)  # integers stay exact
    assert not takes((1, 1026, 1026, 64), (3, 3, 64, 64))  # a large image: im2col's flat memory
    assert not takes((32, 1032, 32), (5, 32, 32), tactics=CPU._replace(winograd_tile=6))  # F(6, 5): 10 points


def test_memory_stays_within_xla_s_at_a_large_batch():
    shapes = jax.ShapeDtypeStruct((64, 56, 56, 64), jnp.float32), jax.ShapeDtypeStruct((3, 3, 64, 64), jnp.float32)
    f = lambda x, k: conv(x, k, padding="same", plan=Plan(CPU, CPU, policy=Algorithm.MINIMAL_FILTERING))  # noqa: E731
    assert takes_minimal_filtering(f, *shapes)
    ours, _ = _memory_and_compile_time(f, *shapes)
    xla, _ = _memory_and_compile_time(_xla, *shapes)
    assert ours <= 1.25 * xla + 2 * CPU.chunk_bytes, (ours / MiB, xla / MiB)


@pytest.mark.quick
@pytest.mark.parametrize("tile", TILES)
def test_an_output_whose_window_reads_only_zeros_is_exactly_zero_as_a_direct_sum_s(tile, rng):
    """A transform leaves its tile's round-off where the window is zero; a ReLU after it would see +-1e-9 for 0."""
    x = rng.standard_normal((2, 12, 12, 8)).astype("float32")
    x[:, :7, :7] = 0.0  # dead corners, as MNIST's borders and a ReLU's zeros give
    kernel, cotangent = rng.standard_normal((3, 3, 8, 8)).astype("float32"), np.zeros((2, 12, 12, 8), "float32")
    cotangent[:, 6:] = rng.standard_normal((2, 6, 12, 8))
    out, vjp = jax.vjp(lambda a, b: conv(a, b, padding="same", plan=forced(tile)), x, kernel)
    expected = reference.conv(x, kernel, (1, 1), "same")
    np.testing.assert_array_equal(np.asarray(out) == 0, expected == 0)
    assert (expected == 0).sum() == 2 * 6 * 6 * 8
    x_grad = vjp(cotangent)[0]  # a transposed convolution's forward pass: the same rule
    expected_grad = reference.conv_vjp(x, kernel, cotangent, (1, 1), "same")[0]
    np.testing.assert_array_equal(np.asarray(x_grad) == 0, expected_grad == 0)
