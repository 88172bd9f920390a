"""`conv` against the float64 reference, and under JAX's transformations."""

import itertools
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.kernels import ACCELERATOR, CPU, Algorithm, Plan, conv
from keras_cnn_ref.kernels.algorithms import banded_rows, im2col
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference

BIG_KERNELS = {1: (9,), 2: (6, 5), 3: (3, 3, 2)}  # 9, 30 and 18 taps


def random_cases(count, seed=0, rank=2):
    """Configurations with `rank` spatial axes, drawn over every argument."""
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        groups = int(rng.integers(1, 4))
        strides = tuple(int(s) for s in rng.integers(1, 4, size=rank))
        dilated = index % 3 == 0
        kernel = tuple(int(k) for k in rng.integers(1, 5 if rank < 3 else 4, size=rank))
        if index % 5 == 0:
            kernel = BIG_KERNELS[rank]
        group_channels, group_filters = (12, 12) if index % 2 else (2, 3)
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=rank)) if dilated else (1,) * rank
        extents = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        sizes = rng.integers(2, 8 if rank < 3 else 5, size=rank)
        spatial = [int(n) + e - 1 for n, e in zip(sizes, extents)]  # the kernel fits
        case = {
            "id": f"{rank}d-case{index}",
            "shape": (int(rng.integers(0, 3)), *spatial, group_channels * groups),
            "kernel": (*kernel, group_channels, group_filters * groups),
            "strides": (1,) * rank if dilated else strides,
            "padding": str(rng.choice(["valid", "same", "SAME"])),
            "dilation_rate": dilation,
            "groups": groups,
            "data_format": str(rng.choice(["channels_last", "channels_first"])),
            "dtype": str(rng.choice(["float32", "float32", "bfloat16", "float16"])),
        }
        cases.append(case)
    return cases


def _draw(rng, case):
    shape = case["shape"]
    if case["data_format"] == "channels_first":
        shape = (shape[0], shape[-1], *shape[1:-1])
    x = jnp.asarray(rng.standard_normal(shape), case["dtype"])
    kernel = jnp.asarray(rng.standard_normal(case["kernel"]), case["dtype"])
    return x, kernel


# The shape-based choice, then im2col named, and the band wherever it can compute (2-D, one group;
# the chooser's choice elsewhere). Minimal filtering's own are in algorithms/test_minimal_filtering.py.
# These hold on every platform, so a jaxpr holds one plan, not one per platform.
PLANS = {
    "chosen": Plan(),
    "im2col": Plan(CPU, CPU, policy=Algorithm.IM2COL),
    "band": Plan(*(CPU._replace(band_max_weights=math.inf),) * 2),
}
# The plan a GPU or TPU program takes, run here on the CPU.
ACCELERATOR_HERE = Plan(cpu=ACCELERATOR)


def _check_against_reference(case, rng, plan=Plan()):
    x, kernel = _draw(rng, case)
    args = {k: case[k] for k in ("strides", "padding", "dilation_rate", "groups", "data_format")}
    args["plan"] = plan
    ref_args = {
        "strides": case["strides"],
        "padding": case["padding"].lower(),
        "dilation": case["dilation_rate"],
        "groups": case["groups"],
        "data_format": case["data_format"],
    }
    ref_out = reference.conv(x, kernel, **ref_args)
    cotangent = jnp.asarray(rng.standard_normal(ref_out.shape), case["dtype"])
    out, vjp = jax.vjp(lambda a, b: conv(a, b, **args), x, kernel)
    grad_x, grad_kernel = vjp(cotangent)
    ref_grad_x, ref_grad_kernel = reference.conv_vjp(x, kernel, cotangent, **ref_args)
    tolerance = TOLERANCES[case["dtype"]]
    for name, ours, ref in [
        ("output", out, ref_out),
        ("grad x", grad_x, ref_grad_x),
        ("grad kernel", grad_kernel, ref_grad_kernel),
    ]:
        assert ours.dtype == x.dtype, name
        result = compare(ours, ref, tolerance)
        assert result.ok, f"{name}: {result}"


@pytest.mark.parametrize("case", random_cases(40), ids=lambda case: case["id"])
@pytest.mark.parametrize("strategy", list(PLANS))  # ids "chosen-2d-case0", ...: conftest's SMOKE takes "chosen-"
def test_forward_and_vjp_match_float64_reference(case, strategy, rng):
    _check_against_reference(case, rng, PLANS[strategy])


@pytest.mark.parametrize(
    "case", [case for case in random_cases(40) if case["groups"] == 1], ids=lambda case: case["id"]
)
def test_the_tap_loop_the_guards_fall_back_to_matches_float64_reference(case, rng):
    _check_against_reference(case, rng, Plan(policy=Algorithm.TAP_LOOP))


@pytest.mark.parametrize(
    "case", random_cases(16, seed=1, rank=1) + random_cases(16, seed=3, rank=3), ids=lambda case: case["id"]
)
def test_1d_and_3d_forward_and_vjp_match_float64_reference(case, rng):
    _check_against_reference(case, rng)


@pytest.mark.parametrize(
    "x_shape, kernel_shape, groups, chosen",
    [
        ((128, 28, 28, 1), (3, 3, 1, 4), 1, "BandedRows"),  # the MNIST model's layers
        ((128, 13, 13, 4), (3, 3, 4, 8), 1, "BandedRows"),
        ((128, 5, 5, 8), (3, 3, 8, 16), 1, "BandedRows"),
        ((32, 56, 56, 64), (3, 3, 64, 64), 1, "Im2col"),  # a wide band: Wp / KW times the work
        ((8, 13, 13, 4), (3, 3, 2, 8), 2, "Im2col"),  # groups
    ],
)
def test_small_images_with_few_channels_take_the_band(x_shape, kernel_shape, groups, chosen):
    out_spatial = (x_shape[1] - kernel_shape[0] + 1, x_shape[2] - kernel_shape[1] + 1)
    geometry = ConvGeometry(kernel_shape[:2], (1, 1), (1, 1), groups, out_spatial)
    assert banded_rows.uses_band(x_shape, kernel_shape, geometry, CPU.band_max_weights) == (chosen == "BandedRows")


@pytest.mark.parametrize("kernel_hw, groups", [((1, 1), 1), ((3, 3), 1), ((7, 5), 2)])
def test_im2col_is_one_dot_forward_and_two_backward_whatever_the_kernel(kernel_hw, groups):
    """Taps and channels contract together, in one `dot_general` per pass."""
    x, kernel = jnp.ones((2, 9, 9, 4)), jnp.ones((*kernel_hw, 4 // groups, 6))
    grouped = lambda a, b: conv(a, b, groups=groups, plan=PLANS["im2col"])  # noqa: E731
    assert str(jax.make_jaxpr(grouped)(x, kernel)).count("dot_general[") == 1
    backward = jax.make_jaxpr(
        lambda a, b: jax.vjp(grouped, a, b)[1](jnp.ones((2, 9 - kernel_hw[0] + 1, 9 - kernel_hw[1] + 1, 6)))
    )(x, kernel)
    assert str(backward).count("dot_general[") == 3  # the forward pass, then the kernel and input gradients


def test_im2col_chunks_hold_as_many_images_as_their_bytes_allow():
    geometry = ConvGeometry((3, 3), (1, 1), (1, 1), 1, (8, 8))
    four_images = 4 * 8 * 8 * 9 * 16 * 4  # four float32 images' columns
    chunks = {
        itemsize: im2col.Im2col(
            (16, 10, 10, 16), (3, 3, 16, 16), geometry, itemsize, CPU._replace(chunk_bytes=four_images)
        ).images
        for itemsize in (2, 4, 8)
    }
    assert chunks == {2: 8, 4: 4, 8: 2}


def test_im2col_runs_a_few_images_at_a_time_and_agrees(rng):
    x = jnp.asarray(rng.standard_normal((6, 9, 9, 16)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 16, 16)), jnp.float32)
    two_images = Plan(cpu=CPU._replace(chunk_bytes=2 * 5 * 5 * 9 * 16 * 4), policy=Algorithm.IM2COL)
    loss = lambda a, b, plan: jnp.sum(jnp.sin(conv(a, b, strides=2, padding="same", plan=plan)))  # noqa: E731
    whole = jax.value_and_grad(loss, (0, 1))(x, kernel, PLANS["im2col"])
    assert "scan[" in str(jax.make_jaxpr(jax.grad(loss, (0, 1)), static_argnums=2)(x, kernel, two_images))
    chunked = jax.value_and_grad(loss, (0, 1))(x, kernel, two_images)
    for ours, reference_value in zip(jax.tree.leaves(chunked), jax.tree.leaves(whole)):
        assert compare(ours, reference_value, 1e-6).ok


@pytest.mark.parametrize(
    "x_shape, kernel_shape",
    [
        ((128, 28, 28, 1), (3, 3, 1, 4)),  # banded rows on a CPU
        ((32, 56, 56, 64), (3, 3, 64, 64)),  # 28 chunks of 8 MiB on a CPU
    ],
)
@pytest.mark.parametrize("platform", ["cuda", "tpu", "cpu-as-accelerator"])
def test_an_accelerator_takes_16_bit_im2col_over_the_whole_batch(x_shape, kernel_shape, platform):
    """No loop (so no band and no fallback), and every product takes bfloat16 operands into float32 sums.

    The program is lowered here for the accelerator, as `jax.export` does,
    and, to run it, for this CPU with the accelerator's tactics.
    """
    plan = ACCELERATOR_HERE if platform == "cpu-as-accelerator" else Plan()
    loss = lambda a, b: jnp.sum(conv(a, b, padding="same", plan=plan).astype(jnp.float32))  # noqa: E731
    shapes = (jax.ShapeDtypeStruct(x_shape, jnp.bfloat16), jax.ShapeDtypeStruct(kernel_shape, jnp.bfloat16))
    lowered = lowered_text(jax.value_and_grad(loss, (0, 1)), shapes, platform.replace("cpu-as-accelerator", "cpu"))
    assert "stablehlo.while" not in lowered
    products = [line for line in lowered.splitlines() if "stablehlo.dot_general" in line]
    assert len(products) == 3, products  # the forward pass, then the kernel and input gradients
    for line in products:
        assert re.search(r"\(tensor<[^>]*xbf16>, tensor<[^>]*xbf16>\) -> tensor<[^>]*xf32>", line), line


@pytest.mark.parametrize(
    "case", [case for case in random_cases(40) if case["dtype"] != "float32"], ids=lambda case: case["id"]
)
def test_16_bit_operands_as_an_accelerator_takes_them_match_float64_reference(case, rng):
    _check_against_reference(case, rng, ACCELERATOR_HERE)


BIAS_CASES = [
    {"id": "band", "shape": (3, 10, 10, 2), "kernel": (3, 3, 2, 4), "data_format": "channels_last"},
    {"id": "im2col-chunked", "shape": (6, 9, 9, 16), "kernel": (3, 3, 16, 8), "data_format": "channels_last"},
    {"id": "1d-channels-first", "shape": (4, 16, 20), "kernel": (3, 16, 5), "data_format": "channels_first"},
]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("case", BIAS_CASES, ids=lambda case: case["id"])
def test_bias_is_added_after_rounding_bit_for_bit_as_a_separate_add(case, dtype, rng):
    """The bias joins each output chunk inside the kernel: the same values and gradients as Keras's add after it."""
    plan = Plan(cpu=CPU._replace(chunk_bytes=2 * 9 * 9 * 9 * 16 * 4))  # two images' columns
    x, kernel, bias = (
        jnp.asarray(rng.standard_normal(shape), dtype) for shape in (case["shape"], case["kernel"], case["kernel"][-1:])
    )
    data_format = case["data_format"]
    bias_shape = (-1, 1) if data_format == "channels_first" else (-1,)  # 1-D: (F, L) or (L, F) per example

    def fused(a, b, c):
        return conv(a, b, bias=c, padding="same", data_format=data_format, plan=plan)

    def separate(a, b, c):
        return conv(a, b, padding="same", data_format=data_format, plan=plan) + c.reshape(bias_shape)

    if case["id"] == "im2col-chunked":
        assert "scan[" in str(jax.make_jaxpr(fused)(x, kernel, bias))
    out, vjp = jax.vjp(fused, x, kernel, bias)
    expected_out, expected_vjp = jax.vjp(separate, x, kernel, bias)
    cotangent = jnp.asarray(rng.standard_normal(out.shape), dtype)
    for ours, expected in zip((out, *vjp(cotangent)), (expected_out, *expected_vjp(cotangent)), strict=True):
        assert ours.dtype == expected.dtype == x.dtype
        np.testing.assert_array_equal(np.asarray(ours, np.float32), np.asarray(expected, np.float32))
    assert not np.allclose(
        np.asarray(out, np.float32), np.asarray(conv(x, kernel, padding="same", data_format=data_format), np.float32)
    )


@pytest.mark.quick
def test_is_cross_correlation_not_flipped_convolution():
    x = jnp.zeros((1, 3, 3, 1)).at[0, 1, 1, 0].set(1.0)  # a single 1 in the centre
    kernel = jnp.arange(9.0).reshape(3, 3, 1, 1)
    out = conv(x, kernel, padding="same")[0, :, :, 0]
    # Correlation of an impulse reproduces the kernel rotated by 180 degrees.
    np.testing.assert_array_equal(out, kernel[::-1, ::-1, 0, 0])


@pytest.mark.quick
def test_same_padding_puts_the_odd_pad_after():
    x = jnp.arange(1.0, 5.0).reshape(1, 1, 4, 1)  # one row: 1 2 3 4
    out = conv(x, jnp.ones((1, 2, 1, 1)), padding="same")  # even kernel: total pad 1
    np.testing.assert_array_equal(out[0, 0, :, 0], [3.0, 5.0, 7.0, 4.0])  # pad on the right


def test_second_order_gradient_matches_xla(rng):
    x = jnp.asarray(rng.standard_normal((2, 6, 7, 2)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 2, 2, 3)), jnp.float32)

    def xla(a, b):
        return jax.lax.conv_general_dilated(a, b, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def grad_norm(conv):
        return jax.grad(lambda a, b: jnp.sum(jax.grad(lambda a: jnp.sum(jnp.tanh(conv(a, b))))(a) ** 2), 1)

    assert compare(grad_norm(lambda a, b: conv(a, b, padding="same"))(x, kernel), grad_norm(xla)(x, kernel), 1e-5).ok


def test_vmap_equals_a_loop_over_the_mapped_axis(rng):
    xs = jnp.asarray(rng.standard_normal((3, 2, 7, 7, 4)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 2, 4)), jnp.float32)
    mapped = jax.vmap(lambda x: conv(x, kernel, strides=2, groups=2))(xs)
    looped = jnp.stack([conv(x, kernel, strides=2, groups=2) for x in xs])
    np.testing.assert_allclose(mapped, looped, rtol=1e-6, atol=1e-6)


@pytest.mark.quick
def test_jit_and_eager_agree_and_forward_mode_is_refused_by_name(rng):
    x = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 3, 5)), jnp.float32)
    f = lambda a: conv(a, kernel, padding="same", dilation_rate=2)  # noqa: E731
    np.testing.assert_array_equal(jax.jit(f)(x), f(x))
    # The backward pass is written out (a custom VJP), so JAX has no forward mode for it.
    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(f, (x,), (x,))


BAD_ARGUMENTS = [
    {"id": "zero-stride", "kwargs": {"strides": 0}, "match": "strides"},
    {"id": "three-strides", "kwargs": {"strides": (1, 1, 1)}, "match": "strides"},
    {"id": "zero-dilation", "kwargs": {"dilation_rate": (1, 0)}, "match": "dilation_rate"},
    {"id": "unknown-padding", "kwargs": {"padding": "full"}, "match": "padding"},
    {"id": "unknown-format", "kwargs": {"data_format": "NHWC"}, "match": "data_format"},
    {"id": "groups-mismatch", "kwargs": {"groups": 2}, "match": "groups"},
    {"id": "zero-groups", "kwargs": {"groups": 0}, "match": "groups"},
    {
        "id": "kernel-too-large",
        "kernel": (9, 3, 4, 2),
        "match": "zero or negative: the convolution has no output positions",
    },
    {"id": "input-rank", "shape": (8,), "match": "rank 2 or more"},
    {"id": "kernel-rank", "kernel": (3, 4, 2), "match": "the input's rank"},
    {"id": "zero-size-kernel", "kernel": (0, 3, 4, 2), "match": "every kernel_size positive"},
    {"id": "bias-shape", "kwargs": {"bias": jnp.ones((4,))}, "match": r"bias.shape=\(4,\)"},
]


@pytest.mark.quick
@pytest.mark.parametrize("case", BAD_ARGUMENTS, ids=lambda case: case["id"])
def test_bad_arguments_raise_value_error_naming_them(case):
    x = jnp.ones(case.get("shape", (1, 8, 8, 4)))
    with pytest.raises(ValueError, match=case["match"]):
        conv(x, jnp.ones(case.get("kernel", (3, 3, 4, 2))), **case.get("kwargs", {}))


@pytest.mark.quick
def test_empty_batch_gives_empty_output():
    out = conv(jnp.ones((0, 8, 8, 4)), jnp.ones((3, 3, 4, 2)), strides=2)
    assert out.shape == (0, 3, 3, 2)


@pytest.mark.quick
def test_grid_covers_every_argument():
    cases = random_cases(40)
    for key in ("padding", "data_format", "groups", "dtype"):
        assert len({str(case[key]) for case in cases}) > 1, key
    assert any(max(case["dilation_rate"]) > 1 for case in cases)
    assert any(max(case["strides"]) == 3 for case in cases)
    assert {case["shape"][1] % 2 for case in cases} == {0, 1}
    assert not any(
        itertools.chain.from_iterable((max(c["strides"]) > 1 and max(c["dilation_rate"]) > 1,) for c in cases)
    )


POISONED_AT = {"x": (0, 5, 5, 0), "kernel": (1, 0, 0, 3), "cotangent": (0, 3, 3, 2)}
BAND_GEOMETRIES = [((1, 1), (1, 1)), ((2, 1), (1, 1)), ((1, 3), (1, 1)), ((1, 1), (2, 1))]  # strides, dilation


@pytest.mark.parametrize("strides, dilation", BAND_GEOMETRIES, ids=str)
@pytest.mark.parametrize("poison", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("poisoned", [("x",), ("kernel",), ("cotangent",), ("x", "kernel"), ("kernel", "cotangent")])
def test_a_non_finite_operand_spreads_only_as_far_as_its_windows(poisoned, poison, strides, dilation, rng):
    """The band's shapes, but an Inf or NaN in the input, kernel or output gradient.

    Each result is the float64 reference's, position by position, and XLA's
    too unless the kernel is poisoned: XLA's input gradient is a convolution
    over the zero-padded output gradient, so a non-finite weight also meets
    those zeros there and makes NaNs that the true gradient does not have.
    """
    out_spatial = tuple((12 - 2 * d - 1) // s + 1 for s, d in zip(strides, dilation))
    operands = {
        "x": rng.standard_normal((2, 12, 12, 1)),
        "kernel": rng.standard_normal((3, 3, 1, 4)),
        "cotangent": rng.standard_normal((2, *out_spatial, 4)),
    }
    operands["kernel"][0, 0, 0, 1] = 0.0  # an Inf meeting a zero weight makes a NaN
    for name in poisoned:
        operands[name][POISONED_AT[name]] = poison
    x, kernel, cotangent = (jnp.asarray(operands[name], jnp.float32) for name in ("x", "kernel", "cotangent"))
    geometry = ConvGeometry((3, 3), strides, dilation, 1, out_spatial)
    assert banded_rows.uses_band((2, 12, 12, 1), kernel.shape, geometry, CPU.band_max_weights)

    def convolve(a, b):
        return conv(a, b, strides=strides, dilation_rate=dilation)

    def xla(a, b):
        return jax.lax.conv_general_dilated(
            a, b, strides, "VALID", rhs_dilation=dilation, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    ours_out, ours_vjp = jax.vjp(convolve, x, kernel)
    ours = [ours_out, *ours_vjp(cotangent)]
    with np.errstate(invalid="ignore"):
        expected = [
            reference.conv(x, kernel, strides, dilation=dilation),
            *reference.conv_vjp(x, kernel, cotangent, strides, dilation=dilation),
        ]
    pairs = list(zip(ours, expected))
    if "kernel" not in poisoned:
        xla_out, xla_vjp = jax.vjp(xla, x, kernel)
        pairs += zip(ours, [xla_out, *xla_vjp(cotangent)])
    for ours, expected in pairs:
        finite = assert_same_non_finite(ours, expected)
        np.testing.assert_allclose(np.asarray(ours)[finite], np.asarray(expected)[finite], rtol=1e-5, atol=1e-5)


def assert_same_non_finite(ours, expected) -> np.ndarray:
    """NaN, +Inf and -Inf where `expected` has them, and nowhere else; returns where it is finite."""
    ours, expected = np.asarray(ours), np.asarray(expected)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(ours), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(expected))
    return np.isfinite(expected)


def lowered_text(f, shapes, platform: str) -> str:
    """The StableHLO of `f` lowered for `platform`, which need not be this machine's (`jax.export`)."""
    return jax.export.export(jax.jit(f), platforms=(platform,))(*shapes).mlir_module()


def test_one_program_exported_for_cpu_cuda_and_tpu_carries_each_platform_plan(rng):
    """`jax.export` lowers both plans; the CPU runs the band, the others 16-bit im2col (checked above)."""
    x = jnp.asarray(rng.standard_normal((8, 28, 28, 1)), jnp.bfloat16)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 1, 4)), jnp.bfloat16)
    f = jax.jit(lambda a, b: conv(a, b))
    exported = jax.export.export(f, platforms=("cpu", "cuda", "tpu"))(x, kernel)
    module = exported.mlir_module()
    band = "(tensor<208x84xf32>, tensor<84x104xf32>) -> tensor<208x104xf32>"  # (N*OH, KH*Wp*C) x (KH*Wp*C, OW*F)
    im2col = "(tensor<8x26x26x1x9xbf16>, tensor<1x9x4xbf16>) -> tensor<1x8x26x26x4xf32>"  # (N,*O,G,T*C) x (G,T*C,F)
    assert band in module and im2col in module
    for platform, plan in [("cuda", im2col), ("tpu", im2col), ("cpu", band)]:
        alone = jax.export.export(f, platforms=(platform,))(x, kernel).mlir_module()
        other = band if plan == im2col else im2col
        assert plan in alone and other not in alone, platform
        assert ("stablehlo.while" in alone) == (platform == "cpu"), platform  # the band's fallback loop
    compiled = jax.jit(exported.call).lower(x, kernel).compile().as_text()
    assert re.search(r"f32\[208,84\]", compiled) and "bf16[8,26,26,1,9]" not in compiled
    np.testing.assert_array_equal(exported.call(x, kernel), f(x, kernel))
