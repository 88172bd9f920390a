"""`kernels.conv_transpose` against the float64 reference: every argument, 1-D to 3-D, both formats."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels import Algorithm, Plan
from tests import reference


def _cases():
    """Every padding x (stride, dilation) x output_padding (None, 0 and stride - 1) x format, in 2-D; 1-D and
    3-D a slice of it."""
    cases = []
    for rank, padding, (stride, dilation), op, data_format, kernel in itertools.product(
        (1, 2, 3),
        ("valid", "same"),
        ((1, 1), (2, 1), (3, 1), (1, 2)),
        ("none", 0, "max"),
        ("channels_last", "channels_first"),
        (3, 2),
    ):
        output_padding = None if op == "none" else 0 if op == 0 else stride - 1
        if rank != 2 and (data_format == "channels_first") != (kernel == 2):
            continue
        cases.append(
            pytest.param(
                rank,
                padding,
                stride,
                dilation,
                output_padding,
                data_format,
                kernel,
                id=f"{rank}d-{padding}-s{stride}-d{dilation}-op{op}-{data_format[9:]}-k{kernel}",
            )
        )
    return cases


@pytest.mark.parametrize("rank, padding, stride, dilation, output_padding, data_format, kernel_size", _cases())
def test_forward_and_vjp_match_float64_reference(
    rank, padding, stride, dilation, output_padding, data_format, kernel_size, rng
):
    spatial = (5, 4, 3)[:rank]
    x = rng.standard_normal((2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial))
    kernel = rng.standard_normal((*(kernel_size,) * rank, 4, 3))
    args = {"strides": (stride,) * rank, "padding": padding, "output_padding": output_padding}
    call = lambda x, kernel: kernels.conv_transpose(x, kernel, dilation_rate=dilation, data_format=data_format, **args)  # noqa: E731
    out, vjp = jax.vjp(call, x.astype("float32"), kernel.astype("float32"))
    cotangent = rng.standard_normal(out.shape)
    expected = reference.conv_transpose(
        x,
        kernel,
        cotangent,
        dilation=(dilation,) * rank,
        data_format=data_format,
        **{**args, "output_padding": output_padding},
    )
    for ours, theirs in zip((out, *vjp(cotangent.astype("float32"))), expected, strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.quick
@pytest.mark.parametrize("band", [True, False], ids=["band", "im2col"])
def test_the_band_and_im2col_agree_with_the_reference(band, rng):
    x, kernel = rng.standard_normal((2, 6, 7, 2)), rng.standard_normal((3, 3, 4, 2))
    plan = Plan(policy=Algorithm.BANDED_ROWS if band else Algorithm.IM2COL)
    out, vjp = jax.vjp(
        lambda x, k: kernels.conv_transpose(x, k, strides=2, padding="same", plan=plan),
        x.astype("float32"),
        kernel.astype("float32"),
    )
    cotangent = rng.standard_normal(out.shape)
    expected = reference.conv_transpose(x, kernel, cotangent, (2, 2), "same")
    for ours, theirs in zip((out, *vjp(cotangent.astype("float32"))), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.quick
def test_each_input_position_spreads_the_kernel_over_its_own_window():
    out = kernels.conv_transpose(
        jnp.array([1.0, 10.0]).reshape(1, 2, 1),
        jnp.array([1.0, 2.0, 3.0]).reshape(3, 1, 1),
        strides=2,
        output_padding=1,
    )
    np.testing.assert_array_equal(out[0, :, 0], [1, 2, 13, 20, 30, 0])  # output_padding goes after the data


def test_16_bit_sums_in_float32_round_once_and_a_bias_follows(rng):
    x, kernel = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 4, 3))
    bias = rng.standard_normal(4)
    out = kernels.conv_transpose(
        x.astype("bfloat16"), kernel.astype("bfloat16"), bias=bias.astype("bfloat16"), strides=2
    )
    exact = reference.conv_transpose(
        x.astype("bfloat16").astype("float64"),
        kernel.astype("bfloat16").astype("float64"),
        np.zeros((2, 11, 11, 4)),
        (2, 2),
    )[0]
    rounded = exact.astype("float32").astype(jnp.bfloat16) + bias.astype(jnp.bfloat16)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(out, "float32"), np.asarray(rounded, "float32"))


@pytest.mark.quick
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"output_padding": -1}, "output_padding"),
        ({"output_padding": (1,)}, "output_padding"),
        ({"padding": "causal"}, "padding"),
        ({"strides": 0}, "strides"),
        ({"kernel": np.ones((3, 3, 4, 5))}, "input channels"),
        ({"kernel": np.ones((3, 4, 2))}, "rank"),
        ({"kernel": np.ones((2, 2, 4, 2)), "padding": "same", "output_padding": 0, "x": np.ones((1, 1, 1, 2))}, None),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    args = {"x": np.ones((1, 4, 4, 2)), "kernel": np.ones((3, 3, 4, 2)), **kwargs}
    with pytest.raises(ValueError, match=match or "zero or negative"):  # None: "same" with an even kernel, one
        # input position and no output_padding is (1 - 1) * stride + 0 positions long
        kernels.conv_transpose(args.pop("x"), args.pop("kernel"), **args)


@pytest.mark.quick
def test_an_empty_batch_gives_an_empty_output_of_the_right_shape():
    out = kernels.conv_transpose(
        np.ones((0, 4, 3, 2), "float32"), np.ones((3, 3, 5, 2), "float32"), strides=2, padding="same"
    )
    assert out.shape == (0, 8, 6, 5)


def test_second_order_gradients_match_xla(rng):
    x, kernel = rng.standard_normal((1, 4, 4, 2)).astype("float32"), rng.standard_normal((3, 3, 3, 2)).astype("float32")

    def loss(conv_transpose):
        return lambda x, k: jnp.sum(jnp.sin(conv_transpose(x, k)))

    ours = loss(lambda x, k: kernels.conv_transpose(x, k, strides=2, padding="same"))
    xla = loss(
        lambda x, k: jax.lax.conv_transpose(
            x, k, (2, 2), [(2, 1), (2, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC"), transpose_kernel=True
        )
    )
    direction = [rng.standard_normal(x.shape), rng.standard_normal(kernel.shape)]

    def curvature(loss):  # reverse over reverse: the gradient of the gradient along `direction`
        return jax.grad(
            lambda x, k: sum(jnp.vdot(g, d) for g, d in zip(jax.grad(loss, (0, 1))(x, k), direction)), (0, 1)
        )(x, kernel)

    for a, b in zip(curvature(ours), curvature(xla), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
