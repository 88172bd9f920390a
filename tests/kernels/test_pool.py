"""`max_pool` and `average_pool` against the float64 reference, and against XLA's own rules."""

import time
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compare import compare
from keras_cnn_ref.kernels import average_pool, max_pool
from tests import reference

CASES = [
    {"id": "2x2-valid", "shape": (2, 8, 9, 3), "pool_size": (2, 2), "strides": None, "padding": "valid"},
    {"id": "3x3-s2-same-odd", "shape": (2, 7, 9, 3), "pool_size": (3, 3), "strides": (2, 2), "padding": "same"},
    {"id": "overlap-3x2-s1", "shape": (1, 6, 7, 2), "pool_size": (3, 2), "strides": (1, 1), "padding": "valid"},
    {"id": "even-pool-same", "shape": (2, 5, 6, 2), "pool_size": (2, 4), "strides": (1, 3), "padding": "SAME"},
    {
        "id": "channels-first",
        "shape": (2, 3, 7, 6),
        "pool_size": (2, 3),
        "strides": (2, 1),
        "padding": "same",
        "data_format": "channels_first",
    },
    {"id": "empty-batch", "shape": (0, 6, 6, 2), "pool_size": (2, 2), "strides": None, "padding": "valid"},
    {"id": "1d-3-s2-same", "shape": (2, 9, 3), "pool_size": (3,), "strides": (2,), "padding": "same"},
    {
        "id": "1d-channels-first",
        "shape": (2, 3, 8),
        "pool_size": (2,),
        "strides": (1,),
        "padding": "valid",
        "data_format": "channels_first",
    },
    {"id": "1d-2-valid-cropped", "shape": (2, 9, 3), "pool_size": (2,), "strides": None, "padding": "valid"},
    {"id": "1d-2-s3-gaps", "shape": (2, 10, 2), "pool_size": (2,), "strides": (3,), "padding": "valid"},
    {"id": "1d-3-same", "shape": (2, 7, 3), "pool_size": (3,), "strides": None, "padding": "same"},
    {"id": "1d-2-s3-same-extended", "shape": (1, 8, 2), "pool_size": (2,), "strides": (3,), "padding": "same"},
    {
        "id": "1d-2-channels-first",
        "shape": (2, 3, 8),
        "pool_size": (2,),
        "strides": None,
        "padding": "valid",
        "data_format": "channels_first",
    },
    {"id": "2d-one-axis-blocks", "shape": (2, 6, 7, 2), "pool_size": (1, 3), "strides": (1, 3), "padding": "same"},
    {
        "id": "2d-window-1-on-a-strided-axis",
        "shape": (2, 7, 8, 2),
        "pool_size": (1, 2),
        "strides": (2, 2),
        "padding": "same",
    },
    {"id": "1d-taps-reading-only-padding", "shape": (2, 1, 3), "pool_size": (4,), "strides": (1,), "padding": "same"},
    {"id": "3d-2x2x2", "shape": (2, 4, 5, 6, 2), "pool_size": (2, 2, 2), "strides": None, "padding": "valid"},
    {"id": "3d-3x2x3-same", "shape": (1, 5, 4, 7, 2), "pool_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same"},
    {
        "id": "3d-channels-first",
        "shape": (2, 2, 5, 5, 4),
        "pool_size": (2, 3, 2),
        "strides": (1, 2, 2),
        "padding": "same",
        "data_format": "channels_first",
    },
    {
        "id": "2d-one-output-on-a-strided-axis",
        "shape": (1, 2, 4, 1),
        "pool_size": (1, 2),
        "strides": (2, 2),
        "padding": "valid",
    },  # the fuzz found it: its stride dropped, the window's crop was lost
]
POOLS = {"max": (max_pool, reference.max_pool), "average": (average_pool, reference.average_pool)}


def _tie_heavy(rng, shape):
    """Small integers: most windows hold several equal maxima."""
    return jnp.asarray(rng.integers(-2, 2, size=shape), jnp.float32)


@pytest.mark.quick
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
    ref_out, ref_grad = reference_pool(
        x, cotangent, case["pool_size"], strides, case["padding"].lower(), args["data_format"]
    )
    assert compare(out, ref_out, 0.0 if mode == "max" else 1e-6).ok
    assert compare(vjp(cotangent)[0], ref_grad, 1e-6).ok


SPECIAL_INPUTS = [
    {"id": "all-ties", "x": np.ones((1, 4, 4, 1)), "pool": 2, "strides": 2, "padding": "valid"},
    {"id": "overlapping-ties", "x": np.ones((1, 4, 4, 1)), "pool": 3, "strides": 1, "padding": "valid"},
    {"id": "all-negative-same", "x": np.full((1, 3, 3, 1), -5.0), "pool": 3, "strides": 1, "padding": "same"},
    {
        "id": "minus-inf-ties-with-padding",
        "x": np.full((1, 3, 3, 1), -np.inf),
        "pool": 3,
        "strides": 1,
        "padding": "same",
    },
    {
        "id": "nan-first",
        "x": np.where(np.arange(16) == 0, np.nan, np.arange(16.0)).reshape(1, 4, 4, 1),
        "pool": 2,
        "strides": 2,
        "padding": "valid",
    },
    {
        "id": "nan-last",
        "x": np.where(np.arange(16) == 5, np.nan, np.arange(16.0)).reshape(1, 4, 4, 1),
        "pool": 2,
        "strides": 2,
        "padding": "valid",
    },
    {
        "id": "nan-same",
        "x": np.array([np.nan, 1.0, np.nan, 0.0]).reshape(1, 2, 2, 1),
        "pool": 2,
        "strides": 1,
        "padding": "same",
    },
    {
        "id": "inf",
        "x": np.array([np.inf, 1.0, -np.inf, np.inf]).reshape(1, 2, 2, 1),
        "pool": 2,
        "strides": 1,
        "padding": "same",
    },
    {
        "id": "1d-blocks-nan-ties-inf",
        "x": np.array([np.nan, 1, 2, np.nan, 3, 3, -np.inf, -np.inf]).reshape(1, 8, 1),
        "pool": 2,
        "strides": 2,
        "padding": "valid",
    },
    {
        "id": "1d-blocks-with-gaps-same",
        "x": np.array([-np.inf, 1, 1, np.inf, 0, np.nan, 2]).reshape(1, 7, 1),
        "pool": 2,
        "strides": 3,
        "padding": "same",
    },
]


@pytest.mark.quick
@pytest.mark.parametrize("case", SPECIAL_INPUTS, ids=lambda case: case["id"])
@pytest.mark.parametrize("taps", [16, 1], ids=["unrolled", "looped"])
def test_ties_nan_and_inf_match_xla_select_and_scatter_exactly(taps, case):
    x = jnp.asarray(case["x"], jnp.float32)
    spatial = x.ndim - 2
    window, strides = (1, *[case["pool"]] * spatial, 1), (1, *[case["strides"]] * spatial, 1)

    def xla(a):  # built-in Keras's max_pool on JAX: reduce_window, differentiated by XLA
        return jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, window, strides, case["padding"].upper())

    def ours(a):
        return max_pool(
            a, pool_size=case["pool"], strides=case["strides"], padding=case["padding"], max_unrolled_taps=taps
        )

    np.testing.assert_array_equal(ours(x), xla(x))
    weights = jnp.arange(1.0, 1.0 + xla(x).size).reshape(xla(x).shape)  # tells windows apart
    grads = [jax.grad(lambda a, f=f: jnp.sum(f(a) * weights))(x) for f in (ours, xla)]
    np.testing.assert_array_equal(*grads)


@pytest.mark.quick
def test_padding_is_minus_inf_not_zero():
    x = -jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative
    out = max_pool(x, pool_size=2, strides=2, padding="same")
    np.testing.assert_array_equal(out[0, :, :, 0], [[-1.0, -3.0], [-7.0, -9.0]])


@pytest.mark.quick
def test_average_same_padding_divides_by_the_input_cells_only():
    x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    out = average_pool(x, pool_size=2, strides=2, padding="same")  # windows of 4, 2, 2 and 1 cells
    np.testing.assert_array_equal(out[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "shape, pool_size, strides",
    [((2, 9, 3), (3,), (2,)), ((2, 7, 8, 3), (3, 2), (2, 2)), ((1, 5, 6, 4, 2), (2, 3, 2), (1, 2, 2))],
)
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


@pytest.mark.quick
@pytest.mark.parametrize("pool", [max_pool, average_pool])
@pytest.mark.parametrize("case", BAD_ARGUMENTS, ids=lambda case: case["id"])
def test_bad_arguments_raise_value_error_naming_them(case, pool):
    with pytest.raises(ValueError, match=case["match"]):
        pool(jnp.ones(case.get("shape", (1, 8, 8, 2))), **case.get("kwargs", {}))


POOLING = {"max": (max_pool, jax.lax.max), "average": (average_pool, jax.lax.add)}


@pytest.mark.parametrize("mode", POOLS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case["id"])
def test_a_window_folded_in_a_loop_gives_the_unrolled_values_and_gradients(case, mode, rng):
    """One tap a step of the loop, against the unrolled fold: bit for bit, but for the order of gradient sums."""
    pool = POOLS[mode][0]
    x = _tie_heavy(rng, case["shape"])
    args = {k: case[k] for k in ("pool_size", "strides", "padding")} | {
        "data_format": case.get("data_format", "channels_last")
    }
    results = [jax.vjp(lambda a, taps=taps: pool(a, max_unrolled_taps=taps, **args), x) for taps in (16, 1)]
    cotangent = jnp.asarray(rng.standard_normal(results[0][0].shape), jnp.float32)
    (unrolled, unrolled_vjp), (looped, looped_vjp) = results
    np.testing.assert_array_equal(looped, unrolled)
    if mode == "max":
        np.testing.assert_array_equal(looped_vjp(cotangent)[0], unrolled_vjp(cotangent)[0])
    else:
        assert compare(looped_vjp(cotangent)[0], unrolled_vjp(cotangent)[0], 1e-6).ok


@pytest.mark.parametrize("mode", POOLING)
@pytest.mark.parametrize("shape, pool_size", [((1, 10, 1), 10**9), ((1, 3, 4, 1), (7, 100)), ((2, 5, 2), 6)])
def test_a_window_far_beyond_the_input_gives_xla_values_and_gradients(shape, pool_size, mode, rng):
    pool, reducer = POOLING[mode]
    x = jnp.asarray(rng.integers(-2, 2, size=shape), jnp.float32).at[(0,) * len(shape)].set(jnp.nan)
    sizes = (pool_size,) * (len(shape) - 2) if isinstance(pool_size, int) else pool_size
    window = (1, *sizes, 1)

    def xla(a):
        init = -jnp.inf if mode == "max" else 0.0
        sums = jax.lax.reduce_window(a, init, reducer, window, window, "SAME")
        if mode == "max":
            return sums
        return sums / jax.lax.reduce_window(jnp.ones_like(a), 0.0, jax.lax.add, window, window, "SAME")

    def ours(a):
        return pool(a, pool_size=pool_size, padding="same")

    assert compare(ours(x), xla(x), 1e-6).ok
    weights = jnp.arange(1.0, 1.0 + xla(x).size).reshape(xla(x).shape)
    grads = [jax.grad(lambda a, f=f: jnp.nansum(f(a) * weights))(x) for f in (ours, xla)]
    assert compare(*grads, 1e-6).ok


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "bool", "bfloat16", "complex64"])
def test_max_pool_keeps_every_dtype_as_xla(dtype, rng):
    info = np.iinfo(dtype) if dtype.startswith(("int", "uint")) else None
    values = (
        rng.integers(info.min, info.max, (2, 7, 6, 3), endpoint=True) if info else rng.standard_normal((2, 7, 6, 3))
    )
    x = jnp.asarray(values.astype(dtype) if dtype != "bool" else values > 0)
    lowest = False if dtype == "bool" else (info.min if info else -jnp.inf)
    xla = jax.lax.reduce_window(x, jnp.asarray(lowest, x.dtype), jax.lax.max, (1, 3, 2, 1), (1, 2, 2, 1), "SAME")
    ours = max_pool(x, pool_size=(3, 2), strides=2, padding="same")
    assert ours.dtype == xla.dtype
    np.testing.assert_array_equal(ours, xla)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32"])
def test_integer_average_pooling_sums_in_its_dtype_and_divides_as_floats(dtype, padding, rng):
    """Built-in Keras's rule: window sums that wrap around as XLA's integers do, over the window counts, as float32."""
    info = np.iinfo(dtype)
    x = jnp.asarray(rng.integers(info.min, info.max, (2, 7, 6, 2), endpoint=True).astype(dtype))
    window = (1, 3, 3, 1)
    sums = jax.lax.reduce_window(x, jnp.zeros((), x.dtype), jax.lax.add, window, window, padding.upper())
    counts = jax.lax.reduce_window(jnp.ones(x.shape, jnp.int32), 0, jax.lax.add, window, window, padding.upper())
    ours = average_pool(x, pool_size=3, padding=padding)
    assert ours.dtype == jnp.float32  # the quotients to a unit: XLA may divide by a constant as a product
    np.testing.assert_allclose(ours, sums.astype(jnp.float32) / counts.astype(jnp.float32), rtol=2.0**-23, atol=0)


@pytest.mark.quick
def test_average_pooling_refuses_booleans_with_a_type_error():
    with pytest.raises(TypeError, match="booleans"):
        average_pool(jnp.ones((1, 4, 4, 1), bool))


@pytest.mark.parametrize("mode", POOLING)
@pytest.mark.parametrize("shape, pool_size", [((3, 4), ()), ((1, 4, 5, 4, 3, 2), (2, 3, 2, 2))])
def test_any_number_of_spatial_axes_as_xla(shape, pool_size, mode, rng):
    pool, reducer = POOLING[mode]
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    window = (1, *pool_size, 1)
    xla = jax.lax.reduce_window(x, -jnp.inf if mode == "max" else 0.0, reducer, window, (1,) * len(shape), "VALID")
    ours = pool(x, pool_size=pool_size, strides=1)
    assert compare(ours, xla if mode == "max" else xla / np.prod(pool_size), 1e-6).ok


@pytest.mark.parametrize("mode", POOLS)
def test_no_output_position_gives_an_empty_output(mode):
    assert POOLS[mode][0](jnp.ones((2, 3, 3, 1)), pool_size=4).shape == (2, 0, 0, 1)


def test_tracing_costs_nothing_in_proportion_to_the_data():
    tracemalloc.start()
    start = time.perf_counter()
    out = jax.eval_shape(
        lambda a: average_pool(a, pool_size=3, strides=2, padding="same"),
        jax.ShapeDtypeStruct((1, 100_000, 100_000, 1), jnp.float32),
    )
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out.shape == (1, 50_000, 50_000, 1)
    assert peak < 16 * 2**20 and seconds < 5, (peak, seconds)


@pytest.mark.parametrize("window", [8, 16, 32])
def test_compile_time_stays_within_a_small_multiple_of_xla_at_any_window_size(window):
    """A max pool's forward and backward pass, against `reduce_window`'s, interleaved in one process: best of three."""
    shape = jax.ShapeDtypeStruct((8, 64, 64, 16), jnp.float32)

    def seconds(f):
        start = time.perf_counter()
        jax.jit(jax.grad(lambda a: jnp.sum(f(a) ** 2))).lower(shape).compile()
        return time.perf_counter() - start

    ours, xla = [], []
    for _ in range(3):
        ours.append(seconds(lambda a: max_pool(a, pool_size=window, strides=1, padding="same")))
        xla.append(
            seconds(
                lambda a: jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, window, window, 1), (1, 1, 1, 1), "SAME")
            )
        )
    assert min(ours) <= 5 * min(xla), (min(ours), min(xla))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_16_bit_averages_are_within_half_a_unit_of_the_exact_average(dtype, padding, rng):
    """Closer than built-in, which is 1-4 units off: sums in float32, rounded once (the float64 reference decides)."""
    x = jnp.asarray(rng.standard_normal((2, 9, 8, 3)), dtype)
    ours = np.asarray(average_pool(x, pool_size=3, strides=2, padding=padding), np.float64)
    exact = reference.average_pool(x, np.zeros(ours.shape), (3, 3), (2, 2), padding)[0]
    half_unit = 2.0 ** -(jnp.finfo(dtype).nmant + 1)
    assert np.all(np.abs(ours - exact) <= half_unit * np.abs(exact) * 1.001), np.max(
        np.abs(ours - exact) / np.abs(exact)
    )
