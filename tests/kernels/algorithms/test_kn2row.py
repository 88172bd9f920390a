"""kn2row (`algorithms/kn2row.py`): few filters, against the float64 reference, and its guard on the way back."""

import jax
import numpy as np
import pytest

from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.kernels import Algorithm, Plan, algorithms_run, conv
from keras_cnn_ref.kernels.algorithms.kn2row import uses_kn2row
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference

KN2ROW = Plan(policy=Algorithm.KN2ROW)


@pytest.mark.parametrize(
    "x_shape, kernel_shape, args",
    [
        ((2, 9, 9, 16), (3, 3, 16, 2), {"padding": "same"}),
        ((2, 20, 8), (5, 8, 3), {"strides": 3}),  # 1-D
        ((1, 6, 7, 5, 8), (3, 3, 2, 8, 2), {"padding": "same", "strides": (1, 2, 1)}),  # 3-D
        ((2, 12, 12, 32), (7, 7, 32, 1), {"padding": "same", "dilation_rate": 2}),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_forward_and_vjp_match_the_float64_reference(x_shape, kernel_shape, args, dtype, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    rank = x.ndim - 2
    out, vjp = jax.vjp(lambda a, b: conv(a, b, plan=KN2ROW, **args), x, kernel)
    cotangent = rng.standard_normal(out.shape).astype(dtype)
    ref_args = {
        "strides": tuple(np.broadcast_to(args.get("strides", 1), rank)),
        "padding": args.get("padding", "valid"),
        "dilation": tuple(np.broadcast_to(args.get("dilation_rate", 1), rank)),
    }
    exact = [reference.conv(x, kernel, **ref_args), *reference.conv_vjp(x, kernel, cotangent, **ref_args)]
    for name, ours, ref in zip(("output", "grad x", "grad kernel"), (out, *vjp(cotangent)), exact):
        assert ours.dtype == x.dtype and compare(ours, ref, TOLERANCES[dtype]).ok, name


@pytest.mark.parametrize("where", ["x", "kernel"])
def test_an_inf_takes_the_tap_loop_back_and_stays_in_its_own_windows(where, rng):
    x = rng.standard_normal((1, 8, 8, 8)).astype("float32")
    kernel = rng.standard_normal((3, 3, 8, 2)).astype("float32")
    (x if where == "x" else kernel)[(0, 0, 0, 0)] = np.inf  # the input's corner: read by one tap only
    cotangent = rng.standard_normal((1, 6, 6, 2)).astype("float32")
    grads = jax.vjp(lambda a, b: conv(a, b, plan=KN2ROW), x, kernel)[1](cotangent)
    exact = reference.conv_vjp(x, kernel, cotangent, (1, 1))
    for ours, ref in zip(grads, exact):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))  # the stack's zeros would make NaN
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref))


@pytest.mark.quick
def test_few_filters_from_many_channels_take_it_and_others_do_not():
    def takes(padded, kernel, groups=1):
        out = tuple(p - k + 1 for p, k in zip(padded[1:-1], kernel))
        return uses_kn2row(padded, kernel, ConvGeometry(kernel[:-2], (1,) * len(out), (1,) * len(out), groups, out))

    assert takes((4, 34, 34, 128), (7, 7, 128, 1)) and takes((4, 30, 30, 128), (3, 3, 128, 16))
    assert takes((8, 100, 64), (5, 64, 4))  # 1-D
    assert not takes((4, 30, 30, 128), (3, 3, 128, 32))  # more than 16 filters: im2col's
    assert not takes((4, 30, 30, 8), (3, 3, 8, 4))  # not a quarter of the channels
    assert not takes((4, 28, 28, 128), (1, 1, 128, 1))  # one tap: a plain product already
    assert not takes((4, 30, 30, 128), (3, 3, 64, 2), groups=2)


@pytest.mark.quick
def test_the_head_of_a_segmentation_net_runs_it_by_default(rng):
    x, kernel = rng.standard_normal((2, 16, 16, 64)).astype("float32"), rng.standard_normal((3, 3, 64, 1))
    assert algorithms_run(lambda a, b: conv(a, b.astype("float32"), padding="same"), x, kernel) == {Algorithm.KN2ROW}
