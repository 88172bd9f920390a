"""`kernels.adaptive_max_pool` and `adaptive_average_pool` against the float64 reference."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref import kernels
from tests import reference

# (input size, windows): windows that divide the input, that overlap, more windows than positions, one window.
SIZES = [(8, 4), (10, 4), (5, 3), (3, 5), (7, 1), (6, 6), (13, 5)]


@pytest.mark.parametrize(
    "mode, rank, sizes, data_format",
    [
        pytest.param(mode, rank, sizes, data_format, id=f"{mode}-{rank}d-in{sizes[0]}-out{sizes[1]}-{data_format[9:]}")
        for mode, rank, sizes, data_format in itertools.product(
            ("max", "average"), (1, 2, 3), SIZES, ("channels_last", "channels_first")
        )
        if rank < 3 or sizes[0] <= 8
    ],
)
def test_forward_and_vjp_match_float64_reference(mode, rank, sizes, data_format, rng):
    size, n = sizes
    spatial, output_size = (size, size + 1, size - 1)[:rank], (n, n + 1, max(n - 1, 1))[:rank]
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.integers(-2, 2, shape).astype("float32")  # ties: the gradient's pick is exercised
    pool = kernels.adaptive_max_pool if mode == "max" else kernels.adaptive_average_pool
    out, vjp = jax.vjp(lambda x: pool(x, output_size, data_format=data_format), x)
    cotangent = rng.standard_normal(out.shape)
    expected = reference.adaptive_pool(x, cotangent, output_size, mode, data_format)
    for ours, theirs in zip((out, *vjp(cotangent.astype("float32"))), expected, strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.quick
def test_windows_overlap_where_the_count_does_not_divide_the_size():
    x = jnp.arange(5.0).reshape(1, 5, 1)
    np.testing.assert_allclose(kernels.adaptive_average_pool(x, 3)[0, :, 0], [0.5, 2.0, 3.5])  # [0,2) [1,4) [3,5)
    np.testing.assert_array_equal(kernels.adaptive_max_pool(x, 3)[0, :, 0], [1.0, 3.0, 4.0])


@pytest.mark.quick
def test_a_2d_max_window_sends_its_gradient_to_the_first_maximum_along_rows_then_columns():
    x = jnp.array([[0.0, 1.0], [1.0, 0.0]]).reshape(1, 2, 2, 1)  # two maxima: (0, 1) and (1, 0)
    grad = jax.grad(lambda x: kernels.adaptive_max_pool(x, 1).sum())(x)
    np.testing.assert_array_equal(grad[0, :, :, 0], [[0.0, 0.0], [1.0, 0.0]])  # Keras's pick: column 0 first


@pytest.mark.quick
def test_nan_and_inf_stand_where_their_windows_are():
    x = jnp.array([1.0, jnp.nan, 2.0, 3.0, -jnp.inf, 4.0]).reshape(1, 6, 1)
    np.testing.assert_array_equal(kernels.adaptive_max_pool(x, 3)[0, :, 0], [jnp.nan, 3.0, 4.0])
    np.testing.assert_array_equal(kernels.adaptive_average_pool(x, 3)[0, :, 0], [jnp.nan, 2.5, -jnp.inf])


@pytest.mark.quick
@pytest.mark.parametrize("output_size, match", [(0, "output_size"), ((2, 2), "output_size"), ("2", "output_size")])
def test_bad_output_sizes_raise_value_error_naming_them(output_size, match):
    with pytest.raises(ValueError, match=match):
        kernels.adaptive_max_pool(np.ones((1, 4, 2)), output_size)
