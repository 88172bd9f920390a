"""`conv` at its edges: integer and boolean dtypes, any number of spatial axes, and padding that meets an Inf."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compare import compare
from keras_cnn_ref.kernels import conv
from tests import reference
from tests.kernels.test_conv import PLANS


def _xla(x, kernel, padding="VALID", groups=1):
    spatial = "".join("DHWXYZ"[-(x.ndim - 2) :]) if x.ndim > 2 else ""
    numbers = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return jax.lax.conv_general_dilated(
        x, kernel, (1,) * (x.ndim - 2), padding, dimension_numbers=numbers, feature_group_count=groups
    )


@pytest.mark.parametrize("strategy", list(PLANS))
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "bool"])
def test_integer_and_boolean_convolutions_are_xla_exactly_wrapping_around(dtype, strategy, rng):
    """Sums in the integer dtype itself, as XLA's: int8 wraps (no float32 saturation), large int32 stay exact."""
    if dtype == "bool":
        x, kernel = rng.random((2, 9, 9, 2)) < 0.3, rng.random((3, 3, 2, 4)) < 0.3
    else:
        info = np.iinfo(dtype)
        x, kernel = (
            rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
            for shape in ((2, 9, 9, 2), (3, 3, 2, 4))
        )
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    ours = conv(x, kernel, padding="same", plan=PLANS[strategy])
    assert ours.dtype == kernel.dtype
    np.testing.assert_array_equal(ours, _xla(x, kernel, "SAME"))


def test_complex_convolutions_are_xla_s(rng):
    x, kernel = (
        jnp.asarray(rng.standard_normal(shape) + 1j * rng.standard_normal(shape), jnp.complex64)
        for shape in ((2, 7, 7, 2), (3, 3, 2, 3))
    )
    ours = conv(x, kernel, padding="same")
    assert ours.dtype == jnp.complex64
    np.testing.assert_allclose(ours, _xla(x, kernel, "SAME"), rtol=1e-5, atol=1e-5)


@pytest.mark.quick
def test_large_int32_products_are_exact():
    x, kernel = jnp.array([[[32769], [32769]]], jnp.int32), jnp.array([[[32768]], [[1]]], jnp.int32)
    assert int(conv(x, kernel)[0, 0, 0]) == 32769 * 32768 + 32769  # float32 would give 1074791424


@pytest.mark.parametrize(
    "x_shape, kernel_shape",
    [
        ((3, 4), (4, 5)),  # no spatial axis: a product
        ((1, 4, 5, 4, 3, 2), (2, 3, 2, 2, 2, 3)),  # four
        ((1, 3, 3, 3, 3, 3, 2), (2, 2, 2, 2, 2, 2, 2)),
    ],
)  # five
def test_any_number_of_spatial_axes_as_xla(x_shape, kernel_shape, rng):
    x, kernel = (jnp.asarray(rng.standard_normal(shape), jnp.float32) for shape in (x_shape, kernel_shape))
    assert compare(conv(x, kernel), _xla(x, kernel), 1e-5).ok
    cotangent = jnp.asarray(rng.standard_normal(_xla(x, kernel).shape), jnp.float32)
    ours, xla = (jax.vjp(f, x, kernel)[1](cotangent) for f in (conv, _xla))
    assert all(compare(a, b, 1e-5).ok for a, b in zip(ours, xla))


@pytest.mark.quick
@pytest.mark.parametrize("strategy", list(PLANS))
@pytest.mark.parametrize("poison", [np.inf, np.nan])
def test_padding_is_zeros_that_a_non_finite_weight_meets_as_the_reference_defines(poison, strategy, rng):
    """The rule: padding cells are zeros, multiplied like any other, so `0 * inf` is NaN.

    A tap that reads only padding (the kernel's corner, on a 1x1 image) then
    makes every output NaN, as the float64 reference gives. XLA's own result
    is inconsistent here: finite on some shapes, NaN on others.
    """
    x = jnp.asarray(rng.standard_normal((2, 1, 1, 2)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 2, 4)), jnp.float32).at[0, 0, 0, 1].set(poison)
    ours = np.asarray(conv(x, kernel, padding="same", plan=PLANS[strategy]))
    with np.errstate(invalid="ignore"):
        expected = reference.conv(x, kernel, (1, 1), "same")
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    assert np.isnan(ours[..., 1]).all() and np.isfinite(ours[..., [0, 2, 3]]).all()
