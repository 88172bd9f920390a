"""`max_pool` and `average_pool` against the float64 reference, and against XLA's own rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compat.compare import compare
from keras_cnn_ref.kernels import average_pool, max_pool
from tests import reference

CASES = [
    {"id": "2x2-valid", "shape": (2, 8, 9, 3), "pool_size": (2, 2), "strides": None, "padding": "valid"},
    {"id": "3x3-s2-same-odd", "shape": (2, 7, 9, 3), "pool_size": (3, 3), "strides": (2, 2), "padding": "same"},
    {"id": "overlap-3x2-s1", "shape": (1, 6, 7, 2), "pool_size": (3, 2), "strides": (1, 1), "padding": "valid"},
    {"id": "even-pool-same", "shape": (2, 5, 6, 2), "pool_size": (2, 4), "strides": (1, 3), "padding": "SAME"},
    {"id": "channels-first", "shape": (2, 3, 7, 6), "pool_size": (2, 3), "strides": (2, 1), "padding": "same",
     "data_format": "channels_first"},
    {"id": "empty-batch", "shape": (0, 6, 6, 2), "pool_size": (2, 2), "strides": None, "padding": "valid"},
    {"id": "1d-3-s2-same", "shape": (2, 9, 3), "pool_size": (3,), "strides": (2,), "padding": "same"},
    {"id": "1d-channels-first", "shape": (2, 3, 8), "pool_size": (2,), "strides": (1,), "padding": "valid",
     "data_format": "channels_first"},
    {"id": "1d-2-valid-cropped", "shape": (2, 9, 3), "pool_size": (2,), "strides": None, "padding": "valid"},
    {"id": "1d-2-s3-gaps", "shape": (2, 10, 2), "pool_size": (2,), "strides": (3,), "padding": "valid"},
    {"id": "1d-3-same", "shape": (2, 7, 3), "pool_size": (3,), "strides": None, "padding": "same"},
    {"id": "1d-2-s3-same-extended", "shape": (1, 8, 2), "pool_size": (2,), "strides": (3,), "padding": "same"},
    {"id": "1d-2-channels-first", "shape": (2, 3, 8), "pool_size": (2,), "strides": None, "padding": "valid",
     "data_format": "channels_first"},
    {"id": "2d-one-axis-blocks", "shape": (2, 6, 7, 2), "pool_size": (1, 3), "strides": (1, 3), "padding": "same"},
    {"id": "2d-window-1-on-a-strided-axis", "shape": (2, 7, 8, 2), "pool_size": (1, 2), "strides": (2, 2),
     "padding": "same"},
    {"id": "1d-taps-reading-only-padding", "shape": (2, 1, 3), "pool_size": (4,), "strides": (1,), "padding": "same"},
    {"id": "3d-2x2x2", "shape": (2, 4, 5, 6, 2), "pool_size": (2, 2, 2), "strides": None, "padding": "valid"},
    {"id": "3d-3x2x3-same", "shape": (1, 5, 4, 7, 2), "pool_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same"},
    {"id": "3d-channels-first", "shape": (2, 2, 5, 5, 4), "pool_size": (2, 3, 2), "strides": (1, 2, 2),
     "padding": "same", "data_format": "channels_first"},
]
POOLS = {"max": (max_pool, reference.max_pool), "average": (average_pool, reference.average_pool)}


def _tie_heavy(rng, shape):
    """Small integers: most windows hold several equal maxima."""
    return jnp.asarray(rng.integers(-2, 2, size=shape), jnp.float32)


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case["id"])
def test_forward_and_vjp_match_float64_reference(case, mode, rng):
    ours_pool, reference_pool = POOLS[mode]
    x = _tie_heavy(rng, case["shape"])
    args = {k: case[k] for k in ("pool_size", "strides", "padding")}
    args["data_format"] = case.get("data_format", "channels_last")
    out, vjp = jax.vjp(lambda a: ours_pool(a, **args), x)
    cotangent = jnp.asarray(rng.standard_normal(out.shape), jnp.float32)
    strides = case["strides"] or case["pool_size"]
    ref_out, ref_grad = reference_pool(x, cotangent, case["pool_size"], strides, case["padding"].lower(),
                                       args["data_format"])
    assert compare(out, ref_out, 0.0 if mode == "max" else 1e-6).ok
    assert compare(vjp(cotangent)[0], ref_grad, 1e-6).ok


SPECIAL_INPUTS = [
    {"id": "all-ties", "x": np.ones((1, 4, 4, 1)), "pool": 2, "strides": 2, "padding": "valid"},
    {"id": "overlapping-ties", "x": np.ones((1, 4, 4, 1)), "pool": 3, "strides": 1, "padding": "valid"},
    {"id": "all-negative-same", "x": np.full((1, 3, 3, 1), -5.0), "pool": 3, "strides": 1, "padding": "same"},
    {"id": "minus-inf-ties-with-padding", "x": np.full((1, 3, 3, 1), -np.inf), "pool": 3, "strides": 1,
     "padding": "same"},
    {"id": "nan-first", "x": np.where(np.arange(16) == 0, np.nan, np.arange(16.0)).reshape(1, 4, 4, 1),
     "pool": 2, "strides": 2, "padding": "valid"},
    {"id": "nan-last", "x": np.where(np.arange(16) == 5, np.nan, np.arange(16.0)).reshape(1, 4, 4, 1),
     "pool": 2, "strides": 2, "padding": "valid"},
    {"id": "nan-same", "x": np.array([np.nan, 1.0, np.nan, 0.0]).reshape(1, 2, 2, 1), "pool": 2, "strides": 1,
     "padding": "same"},
    {"id": "inf", "x": np.array([np.inf, 1.0, -np.inf, np.inf]).reshape(1, 2, 2, 1), "pool": 2, "strides": 1,
     "padding": "same"},
    {"id": "1d-blocks-nan-ties-inf", "x": np.array([np.nan, 1, 2, np.nan, 3, 3, -np.inf, -np.inf]).reshape(1, 8, 1),
     "pool": 2, "strides": 2, "padding": "valid"},
    {"id": "1d-blocks-with-gaps-same", "x": np.array([-np.inf, 1, 1, np.inf, 0, np.nan, 2]).reshape(1, 7, 1),
     "pool": 2, "strides": 3, "padding": "same"},
]


@pytest.mark.parametrize("case", SPECIAL_INPUTS, ids=lambda case: case["id"])
def test_ties_nan_and_inf_match_xla_select_and_scatter_exactly(case):
    x = jnp.asarray(case["x"], jnp.float32)
    spatial = x.ndim - 2
    window, strides = (1, *[case["pool"]] * spatial, 1), (1, *[case["strides"]] * spatial, 1)

    def xla(a):  # built-in Keras's max_pool on JAX: reduce_window, differentiated by XLA
        return jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, window, strides, case["padding"].upper())

    def ours(a):
        return max_pool(a, pool_size=case["pool"], strides=case["strides"], padding=case["padding"])

    np.testing.assert_array_equal(ours(x), xla(x))
    weights = jnp.arange(1.0, 1.0 + xla(x).size).reshape(xla(x).shape)  # tells windows apart
    grads = [jax.grad(lambda a, f=f: jnp.sum(f(a) * weights))(x) for f in (ours, xla)]
    np.testing.assert_array_equal(*grads)


def test_padding_is_minus_inf_not_zero():
    x = -jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative
    out = max_pool(x, pool_size=2, strides=2, padding="same")
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1.0, -3.0], [-7.0, -9.0]])


def test_average_same_padding_divides_by_the_input_cells_only():
    x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    out = average_pool(x, pool_size=2, strides=2, padding="same")  # windows of 4, 2, 2 and 1 cells
    np.testing.assert_array_equal(out[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("shape, pool_size, strides", [
    ((2, 9, 3), (3,), (2,)), ((2, 7, 8, 3), (3, 2), (2, 2)), ((1, 5, 6, 4, 2), (2, 3, 2), (1, 2, 2))])
def test_average_matches_keras_reduce_window_formula(shape, pool_size, strides, padding, rng):
    """Built-in Keras on JAX: a windowed sum over a window count, both by `reduce_window`."""
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    window, full_strides = (1, *pool_size, 1), (1, *strides, 1)

    def xla(a):
        def window_sum(b):
            return jax.lax.reduce_window(b, 0.0, jax.lax.add, window, full_strides, padding.upper())
        return window_sum(a) / window_sum(jnp.ones_like(a))

    def ours(a):
        return average_pool(a, pool_size=pool_size, strides=strides, padding=padding)

    cotangent = jnp.asarray(rng.standard_normal(xla(x).shape), jnp.float32)
    for mine, theirs in zip([ours(x), *jax.vjp(ours, x)[1](cotangent)], [xla(x), *jax.vjp(xla, x)[1](cotangent)]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


def test_transformations_jit_vmap_jvp_and_second_order(rng):
    xs = jnp.asarray(rng.standard_normal((3, 2, 7, 7, 2)), jnp.float32)
    pool = lambda a: max_pool(a, pool_size=3, strides=2, padding="same")  # noqa: E731
    np.testing.assert_array_equal(jax.vmap(pool)(xs), jnp.stack([pool(x) for x in xs]))
    np.testing.assert_array_equal(jax.jit(pool)(xs[0]), pool(xs[0]))
    tangent = jnp.asarray(rng.standard_normal(xs[0].shape), jnp.float32)
    cotangent = jnp.asarray(rng.standard_normal(pool(xs[0]).shape), jnp.float32)
    forward = jnp.vdot(jax.jvp(pool, (xs[0],), (tangent,))[1], cotangent)
    reverse = jnp.vdot(tangent, jax.vjp(pool, xs[0])[1](cotangent)[0])
    np.testing.assert_allclose(forward, reverse, rtol=1e-6)
    hessian_vector = jax.grad(lambda a: jnp.sum(jax.grad(lambda b: jnp.sum(pool(b) ** 2))(a) * tangent))(xs[0])
    expected = 2 * jax.vjp(pool, xs[0])[1](jax.jvp(pool, (xs[0],), (tangent,))[1])[0]  # d2/dx2 of sum(pool^2)
    np.testing.assert_allclose(hessian_vector, expected, rtol=1e-6)


BAD_ARGUMENTS = [
    {"id": "zero-stride", "kwargs": {"strides": 0}, "match": "strides"},
    {"id": "zero-pool", "kwargs": {"pool_size": (2, 0)}, "match": "pool_size"},
    {"id": "unknown-padding", "kwargs": {"padding": "full"}, "match": "padding"},
    {"id": "unknown-format", "kwargs": {"data_format": "NCHW"}, "match": "data_format"},
    {"id": "input-rank", "shape": (8,), "match": "rank 2 or more"},
    {"id": "pool-size-for-another-rank", "shape": (1, 8, 2), "kwargs": {"pool_size": (2, 2)}, "match": "pool_size"},
]


@pytest.mark.parametrize("pool", [max_pool, average_pool])
@pytest.mark.parametrize("case", BAD_ARGUMENTS, ids=lambda case: case["id"])
def test_bad_arguments_raise_value_error_naming_them(case, pool):
    with pytest.raises(ValueError, match=case["match"]):
        pool(jnp.ones(case.get("shape", (1, 8, 8, 2))), **case.get("kwargs", {}))
