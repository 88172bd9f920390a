"""The window arithmetic shared by the kernels."""

import pytest

from keras_cnn_ref.kernels._geometry import normalize_padding, ntuple, output_size, window_pads
from tests.reference import same_pads


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
