"""Depthwise correlation written elementwise: the float64 reference's values, the plan's choice, flat memory."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels import CPU, Plan
from keras_cnn_ref.kernels.algorithms.channelwise import uses_channelwise
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference
from tests.kernels.algorithms.test_im2col import MiB, _memory_and_compile_time


def _cases():
    for rank, multiplier, (stride, dilation), padding, kernel in itertools.product(
        (1, 2, 3), (1, 3), ((1, 1), (2, 1), (1, 2)), ("valid", "same"), (3, 2)
    ):
        if rank == 3 and (kernel == 2) != (padding == "same"):
            continue
        yield pytest.param(
            rank,
            multiplier,
            stride,
            dilation,
            padding,
            kernel,
            id=f"{rank}d-m{multiplier}-s{stride}-d{dilation}-{padding}-k{kernel}",
        )


@pytest.mark.parametrize("rank, multiplier, stride, dilation, padding, kernel_size", list(_cases()))
def test_forward_and_vjp_match_float64_reference(rank, multiplier, stride, dilation, padding, kernel_size, rng):
    x = rng.standard_normal((2, *(7, 6, 5)[:rank], 4))
    kernel = rng.standard_normal((*(kernel_size,) * rank, 4, multiplier))
    args = {"strides": (stride,) * rank, "padding": padding, "dilation": (dilation,) * rank, "groups": 4}
    grouped = kernel.reshape(*kernel.shape[:-2], 1, -1)  # (*K, 1, C*M), as depthwise_conv lays it out
    out, vjp = jax.vjp(
        lambda x, k: kernels.depthwise_conv(x, k, strides=stride, padding=padding, dilation_rate=dilation),
        x.astype("float32"),
        kernel.astype("float32"),
    )
    cotangent = rng.standard_normal(out.shape)
    expected_out = reference.conv(x, grouped, **args)
    expected_x, expected_kernel = reference.conv_vjp(x, grouped, cotangent, **args)
    for ours, theirs in zip(
        (out, *vjp(cotangent.astype("float32"))),
        (expected_out, expected_x, expected_kernel.reshape(kernel.shape)),
        strict=True,
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


def test_depthwise_shapes_take_it_and_others_do_not():
    depthwise = ConvGeometry((3, 3), (1, 1), (1, 1), 8, (7, 7))
    assert uses_channelwise((2, 9, 9, 8), (3, 3, 1, 16), depthwise, CPU.max_unrolled_taps)
    assert not uses_channelwise((2, 9, 9, 8), (3, 3, 2, 8), depthwise._replace(groups=4), 64)  # two channels a group
    assert not uses_channelwise((2, 9, 9, 8), (3, 3, 8, 8), depthwise._replace(groups=1), 64)
    assert not uses_channelwise((2, 19, 19, 8), (11, 11, 1, 8), depthwise._replace(window=(11, 11)), 64)  # im2col's


def test_windows_past_the_unroll_limit_take_im2col_and_agree(rng):
    x, kernel = rng.standard_normal((1, 12, 12, 3)).astype("float32"), rng.standard_normal((9, 9, 3, 2))
    wide = Plan(*(CPU._replace(max_unrolled_taps=100),) * 2)
    np.testing.assert_allclose(
        kernels.depthwise_conv(x, kernel.astype("float32"), padding="same"),
        kernels.depthwise_conv(x, kernel.astype("float32"), padding="same", plan=wide),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.quick
def test_an_inf_stays_in_its_own_windows_and_channel(rng):
    x = rng.standard_normal((1, 8, 8, 3)).astype("float32")
    x[0, 4, 4, 1] = np.inf
    out = np.asarray(kernels.depthwise_conv(x, np.ones((3, 3, 3, 2), "float32")))
    spread = np.isinf(out[0])
    assert spread[:, :, 2:4].sum() == 2 * 9 and not spread[:, :, :2].any() and not spread[:, :, 4:].any()


@pytest.mark.quick
def test_16_bit_sums_in_float32_and_round_once(rng):
    x, kernel = rng.standard_normal((2, 9, 9, 4)), rng.standard_normal((3, 3, 4, 2))
    as_bf16 = [a.astype(jnp.bfloat16) for a in (x, kernel)]
    out = kernels.depthwise_conv(*as_bf16, padding="same")
    exact = reference.conv(
        *(np.asarray(a, "float64") for a in as_bf16[:1]),
        np.asarray(as_bf16[1], "float64").reshape(3, 3, 1, 8),
        (1, 1),
        "same",
        groups=4,
    )
    np.testing.assert_array_equal(
        np.asarray(out, "float32"), np.asarray(exact.astype("float32").astype(jnp.bfloat16), "float32")
    )


@pytest.mark.parametrize(
    "x_shape, kernel_shape",
    [
        ((1, 512, 512, 32), (7, 7, 32, 1)),  # each tap's product stored at once: 1.6 GiB against XLA's 96 MiB
        ((8, 224, 224, 16), (3, 3, 16, 2)),  # a sum over the multiplier stored each product: 548 MiB against 172
    ],
)
def test_memory_stays_within_a_small_multiple_of_xla(x_shape, kernel_shape):
    shapes = jax.ShapeDtypeStruct(x_shape, jnp.float32), jax.ShapeDtypeStruct(kernel_shape, jnp.float32)
    ours, _ = _memory_and_compile_time(lambda x, k: kernels.depthwise_conv(x, k, padding="same"), *shapes)
    xla, _ = _memory_and_compile_time(
        lambda x, k: lax.conv_general_dilated(
            x,
            k.reshape(*k.shape[:2], 1, -1),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=x.shape[-1],
        ),
        *shapes,
    )
    assert ours <= 1.25 * xla + 8 * MiB, (ours / MiB, xla / MiB)
