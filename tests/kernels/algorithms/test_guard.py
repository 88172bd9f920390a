"""The algorithms' one interface and the guard (`algorithms/guard.py`): each says truly what it mixes."""

import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.kernels import CPU
from keras_cnn_ref.kernels.algorithms.banded_rows import BandedRows
from keras_cnn_ref.kernels.algorithms.channelwise import Channelwise
from keras_cnn_ref.kernels.algorithms.guard import Guarded
from keras_cnn_ref.kernels.algorithms.im2col import Im2col
from keras_cnn_ref.kernels.algorithms.kn2row import Kn2row
from keras_cnn_ref.kernels.algorithms.minimal_filtering import Winograd
from keras_cnn_ref.kernels.algorithms.tap_loop import TapLoop
from keras_cnn_ref.kernels.geometry import ConvGeometry
from tests import reference

GEOMETRY = ConvGeometry((3, 3), (1, 1), (1, 1), 1, (8, 8))
SHAPES = ((2, 10, 10, 4), (3, 3, 4, 2), GEOMETRY)
DEPTHWISE = ((2, 10, 10, 4), (3, 3, 1, 4), GEOMETRY._replace(groups=4))
ALGORITHMS = {
    "im2col": (lambda: Im2col(*SHAPES, 4, CPU), SHAPES),
    "tap_loop": (lambda: TapLoop(*SHAPES), SHAPES),
    "banded_rows": (lambda: BandedRows(*SHAPES), SHAPES),
    "channelwise": (lambda: Channelwise(*DEPTHWISE), DEPTHWISE),
    "kn2row": (lambda: Kn2row(*SHAPES), SHAPES),
    "minimal_filtering": (lambda: Winograd(*SHAPES, CPU), SHAPES),  # F(4, 3)
}
# Where each pass takes its Inf: an operand, at its first corner (one tap alone reads it there).
PASSES = {
    "forward": (None, (0, 1)),
    "input gradient": ((True, False), (1, 2)),
    "kernel gradient": ((False, True), (0, 2)),
}


def _run(algorithm, operands, wants, groups):
    padded, kernel, out_grad = operands
    if wants is None:
        return np.asarray(algorithm.forward(padded, kernel))
    return np.asarray(algorithm.backward(padded, kernel, out_grad, wants=wants)[wants.index(True)])


def _definition(operands, wants, groups):
    """The float64 reference (a sum of each window's products: an Inf meets only its own windows' terms)."""
    padded, kernel, out_grad = operands
    if wants is None:
        return reference.conv(padded, kernel, strides=(1, 1), groups=groups)
    return reference.conv_vjp(padded, kernel, out_grad, strides=(1, 1), groups=groups)[wants.index(True)]


def _pattern(values):
    return np.isnan(values), np.isposinf(values), np.isneginf(values)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("pass_name", PASSES)
def test_mixed_names_exactly_the_operands_an_inf_spreads_from_and_the_guard_keeps_it_in_its_windows(
    name, pass_name, rng
):
    make, (padded_shape, kernel_shape, geometry) = ALGORITHMS[name]
    algorithm, wants = make(), PASSES[pass_name][0]
    shapes = (padded_shape, kernel_shape, (padded_shape[0], *geometry.out_spatial, kernel_shape[-1]))
    for index in PASSES[pass_name][1]:
        operands = [rng.standard_normal(shape).astype("float32") for shape in shapes]
        operands[index][(0,) * operands[index].ndim] = np.inf
        definition = _pattern(_definition(operands, wants, geometry.groups))
        spreads = any((p != d).any() for p, d in zip(_pattern(_run(algorithm, operands, wants, 1)), definition))
        assert spreads == (index in algorithm.mixed(wants)), f"operand {index}"
        if geometry.groups == 1:
            guarded = Guarded(algorithm, TapLoop(padded_shape, kernel_shape, geometry))
            for ours, exact in zip(_pattern(_run(guarded, operands, wants, 1)), definition):
                np.testing.assert_array_equal(ours, exact)


@pytest.mark.parametrize("name", ["tap_loop", "banded_rows", "kn2row", "minimal_filtering"])
def test_a_guarded_algorithm_gives_16_bit_operands_the_tap_loops_dtypes_so_the_guards_branches_agree(name, rng):
    """An accelerator multiplies bfloat16 operands as they are (`Tactics.narrow_operands`): the sums come out in
    float32 and the input gradient in the operands' dtype, as the tap loop's do, or `lax.cond` cannot join them
    (banded rows named by the plan on bfloat16 layers failed so; im2col and the channel-wise sum are never
    guarded)."""
    make, (padded_shape, kernel_shape, _) = ALGORITHMS[name]
    padded, kernel = (rng.standard_normal(shape).astype(jnp.bfloat16) for shape in (padded_shape, kernel_shape))
    out_grad = rng.standard_normal((2, 8, 8, kernel_shape[-1])).astype(jnp.bfloat16)
    guarded = Guarded(make(), TapLoop(*SHAPES))
    assert guarded.forward(padded, kernel).dtype == jnp.float32
    grads = guarded.backward(padded, kernel, out_grad, wants=(True, True))
    assert [grad.dtype for grad in grads] == [jnp.bfloat16, jnp.float32]
