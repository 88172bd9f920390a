"""`MaxPooling2D` against built-in `keras.layers.MaxPooling2D`."""

import keras
import pytest

from keras_cnn_ref import MaxPooling2D
from keras_cnn_ref.compat.cases import MAXPOOL2D_CASES
from keras_cnn_ref.compat.harness import check_case


@pytest.mark.parametrize("case", MAXPOOL2D_CASES, ids=lambda case: case["id"])
def test_outputs_and_gradients_match_builtin(case):
    results = check_case(MaxPooling2D, keras.layers.MaxPooling2D, case)
    assert not {name: result for name, result in results.items() if not result.ok}


def test_symbolic_call_with_none_batch_and_spatial_dims():
    for data_format, shape in [("channels_last", (None, None, 3)), ("channels_first", (3, None, None))]:
        config = {"pool_size": 3, "strides": 2, "padding": "same", "data_format": data_format}
        inputs = keras.Input(shape)
        assert MaxPooling2D(**config)(inputs).shape == keras.layers.MaxPooling2D(**config)(inputs).shape
