"""The window arithmetic shared by the kernels."""

import jax.numpy as jnp
import numpy as np
import pytest

from keras_cnn_ref.kernels.geometry import (
    add_windows_back,
    normalize_padding,
    ntuple,
    output_size,
    window_offsets,
    window_pads,
)
from tests.reference import same_pads

pytestmark = pytest.mark.quick


@pytest.mark.parametrize("size", range(1, 12))
@pytest.mark.parametrize("window", range(1, 6))
@pytest.mark.parametrize("stride", range(1, 4))
def test_same_padding_gives_ceil_size_over_stride_positions(size, window, stride):
    pads = window_pads(size, window, stride, "same")
    assert pads == same_pads(size, window, stride)
    assert pads[1] - pads[0] in (0, 1)  # the odd pad goes after
    assert output_size(size, window, stride, pads) == -(-size // stride)


def test_valid_padding_counts_whole_windows_only():
    assert window_pads(11, 2, 2, "valid") == (0, 0)
    assert output_size(11, 2, 2, (0, 0)) == 5  # the documented model: last row thrown away
    assert output_size(3, 4, 1, (0, 0)) == 0


@pytest.mark.parametrize("value", [0, -1, (1,), (1, 2, 3), "3", None, (1.5, 2)])
def test_ntuple_rejects_with_name_and_value(value):
    with pytest.raises(ValueError, match=r"`strides` must be .* Received: strides="):
        ntuple(value, 2, "strides")


def test_padding_is_case_insensitive_and_strict():
    assert normalize_padding("SaMe") == "same"
    with pytest.raises(ValueError, match="Received: padding='causal'"):
        normalize_padding("causal")


@pytest.mark.parametrize(
    "window, dilation, strides, spatial",
    [
        ((3, 3), (1, 1), (1, 1), (9, 9)),
        ((7, 7), (1, 1), (2, 2), (17, 16)),  # a stem's: 4 phases of 9 to 16 taps
        ((2, 2), (1, 1), (3, 2), (10, 7)),  # a phase along the height that no tap reads
        ((2, 3), (3, 2), (1, 1), (8, 9)),  # dilated
        ((5,), (1,), (3,), (14,)),
        ((2, 3, 2), (1, 1, 1), (2, 1, 3), (6, 5, 7)),
    ],
)
def test_add_windows_back_sums_each_window_where_it_was_read(window, dilation, strides, spatial, rng):
    offsets = [(0, *offset, 0) for offset in window_offsets(window, dilation)]
    shape, all_strides = (2, *spatial, 3), (1, *strides, 1)
    out_spatial = [(size - (w - 1) * d - 1) // s + 1 for size, w, d, s in zip(spatial, window, dilation, strides)]
    windows = [rng.integers(-9, 9, (2, *out_spatial, 3)).astype(np.float32) for _ in offsets]
    expected = np.zeros(shape, np.float32)
    for values, offset in zip(windows, offsets):
        expected[tuple(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offset, values.shape, all_strides))] += (
            values
        )
    ours = add_windows_back([jnp.asarray(w) for w in windows], offsets, all_strides, shape)
    np.testing.assert_array_equal(ours, expected)
