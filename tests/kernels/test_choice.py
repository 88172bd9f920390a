"""The choice of algorithm: each one named by the plan against the float64 reference, and the default's picks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.kernels import CPU, Algorithm, Plan, Policy, algorithms_run, choose, conv
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference

pytestmark = pytest.mark.quick


def named(algorithm: Algorithm, **tactics) -> Plan:
    """A plan that runs `algorithm` on every platform."""
    return Plan(*(CPU._replace(**tactics),) * 2, policy=algorithm)


# One convolution each algorithm can compute, with arguments that reach its less common paths:
# (input shape, kernel shape, conv's arguments, the plan's other tactics).
CASES = {
    Algorithm.IM2COL: ((2, 9, 8, 6), (3, 2, 3, 4), {"strides": 2, "padding": "same", "groups": 2}, {}),
    Algorithm.BANDED_ROWS: ((2, 10, 9, 2), (3, 3, 2, 3), {"strides": (2, 1), "padding": "same"}, {}),
    Algorithm.TAP_LOOP: ((2, 11, 9, 3), (3, 2, 3, 4), {"dilation_rate": 2}, {}),
    Algorithm.CHANNELWISE: ((2, 9, 9, 4), (3, 3, 1, 8), {"groups": 4, "strides": 2}, {}),
    Algorithm.KN2ROW: ((2, 11, 10, 8), (3, 2, 8, 2), {"strides": 2, "dilation_rate": (1, 2), "padding": "same"}, {}),
    Algorithm.MINIMAL_FILTERING: (
        (2, 10, 10, 4),
        (3, 3, 4, 5),
        {"padding": "same"},
        {"winograd_tile": 4, "winograd_min_channels": 1},
    ),
}


# What runs for each algorithm: itself, and the fallback a guarded one traces beside it.
RUNS = {
    Algorithm.IM2COL: {Algorithm.IM2COL},
    Algorithm.BANDED_ROWS: {Algorithm.BANDED_ROWS, Algorithm.TAP_LOOP},
    Algorithm.TAP_LOOP: {Algorithm.TAP_LOOP},
    Algorithm.CHANNELWISE: {Algorithm.CHANNELWISE},
    Algorithm.MINIMAL_FILTERING: {Algorithm.MINIMAL_FILTERING, Algorithm.TAP_LOOP},
    Algorithm.KN2ROW: {Algorithm.KN2ROW, Algorithm.TAP_LOOP},
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("algorithm", list(Algorithm), ids=lambda algorithm: algorithm.value)
def test_each_named_algorithm_matches_the_float64_reference(algorithm, dtype, rng):
    x_shape, kernel_shape, args, tactics = CASES[algorithm]  # a new algorithm needs a case here
    x = jnp.asarray(rng.standard_normal(x_shape), dtype)
    kernel = jnp.asarray(rng.standard_normal(kernel_shape), dtype)

    def f(a, b):
        return conv(a, b, plan=named(algorithm, **tactics), **args)

    out, vjp = jax.vjp(f, x, kernel)
    cotangent = jnp.asarray(rng.standard_normal(out.shape), dtype)
    ref_args = {
        "strides": tuple(np.broadcast_to(args.get("strides", 1), 2)),
        "padding": args.get("padding", "valid"),
        "dilation": tuple(np.broadcast_to(args.get("dilation_rate", 1), 2)),
        "groups": args.get("groups", 1),
    }
    exact = [reference.conv(x, kernel, **ref_args), *reference.conv_vjp(x, kernel, cotangent, **ref_args)]
    for name, ours, ref in zip(("output", "grad x", "grad kernel"), (out, *vjp(cotangent)), exact):
        result = compare(ours, ref, TOLERANCES[dtype])
        assert ours.dtype == x.dtype and result.ok, f"{name}: {result}"
    assert algorithms_run(lambda a, b: jax.vjp(f, a, b)[1](out), x, kernel) == RUNS[algorithm]


GEOMETRY = ConvGeometry(window=(3, 3), strides=(1, 1), dilation=(1, 1), groups=1, out_spatial=(26, 26))


@pytest.mark.parametrize(
    "padded, kernel, geometry, chosen",
    [
        ((128, 28, 28, 1), (3, 3, 1, 4), GEOMETRY, Algorithm.BANDED_ROWS),  # the MNIST model's first layer
        ((32, 58, 58, 64), (3, 3, 64, 64), GEOMETRY._replace(out_spatial=(56, 56)), Algorithm.IM2COL),
        ((32, 58, 58, 64), (3, 3, 1, 64), GEOMETRY._replace(groups=64, out_spatial=(56, 56)), Algorithm.CHANNELWISE),
        ((32, 30, 30, 128), (3, 3, 128, 128), GEOMETRY._replace(out_spatial=(28, 28)), Algorithm.IM2COL),
        ((4, 34, 34, 128), (7, 7, 128, 1), GEOMETRY._replace(window=(7, 7), out_spatial=(28, 28)), Algorithm.KN2ROW),
    ],
)
def test_exact_chooses_by_shape_and_never_minimal_filtering_which_fast_takes(padded, kernel, geometry, chosen):
    choice = choose(padded, kernel, geometry, CPU, jnp.float32)
    assert choice.algorithm is chosen and choice.reason
    assert choose(padded, kernel, geometry, CPU, jnp.float32, Policy.FAST).algorithm is (
        Algorithm.MINIMAL_FILTERING if chosen is Algorithm.IM2COL else chosen
    )  # both thick 3x3 layers take it


def test_guarded_algorithms_name_their_fallback():
    assert choose((128, 28, 28, 1), (3, 3, 1, 4), GEOMETRY, CPU, jnp.float32).fallback is Algorithm.TAP_LOOP


def test_a_named_algorithm_that_cannot_compute_the_convolution_is_a_clear_error():
    x, kernel = jnp.ones((1, 6, 6, 4)), jnp.ones((3, 3, 2, 4))
    with pytest.raises(ValueError, match="names the algorithm 'banded_rows', which needs a 2-D convolution of one"):
        conv(x, kernel, groups=2, plan=named(Algorithm.BANDED_ROWS))


def test_the_tap_loop_runs_when_an_operand_of_the_band_holds_nan(rng):
    x = rng.standard_normal((2, 8, 8, 1)).astype("float32")
    x[0, 3, 4, 0] = np.nan
    kernel = rng.standard_normal((3, 3, 1, 4)).astype("float32")
    out = np.asarray(conv(x, kernel))
    exact = reference.conv(x, kernel, strides=(1, 1))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(exact))  # the band would spread it along its row
    np.testing.assert_allclose(out[~np.isnan(out)], exact[~np.isnan(exact)], rtol=1e-5, atol=1e-5)
