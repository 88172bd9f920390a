"""The pooling layers beyond the conformance suite's tables."""

import keras
import numpy as np
import pytest

import keras_cnn_ref.layers
from keras_cnn_ref.conformance.harness import check_layer
from keras_cnn_ref.layers import MaxPooling2D

pytestmark = pytest.mark.quick


def test_upper_case_padding_works_in_symbolic_calls_where_builtin_fails():
    inputs = keras.Input((None, None, 3))
    assert MaxPooling2D(2, padding="SAME")(inputs).shape == (None, None, None, 3)
    assert MaxPooling2D(2, padding="SAME").get_config()["padding"] == "same"
    with pytest.raises(ValueError, match="padding"):  # Keras 3.15's BasePooling keeps "SAME" as given
        keras.layers.MaxPooling2D(2, padding="SAME")(inputs)


@pytest.mark.parametrize(
    "layer, config, shape",
    [
        ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 10, 3)),
        ("MaxPooling3D", {"pool_size": (2, 3, 2), "strides": 1, "data_format": "channels_first"}, (2, 2, 4, 5, 4)),
        ("AveragePooling1D", {"pool_size": 2, "padding": "same", "data_format": "channels_first"}, (2, 3, 9)),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 3)),
        ("AveragePooling2D", {"pool_size": (2, 3)}, (2, 7, 8, 3)),
        ("AveragePooling3D", {"pool_size": 2, "strides": (1, 2, 2), "padding": "same"}, (1, 5, 4, 5, 2)),
    ],
    ids=["max1d-same", "max3d-channels-first", "avg1d-same-channels-first", "avg2d-same", "avg2d-valid", "avg3d-same"],
)
def test_match_builtin(layer, config, shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    results = check_layer(getattr(keras_cnn_ref.layers, layer), getattr(keras.layers, layer), config, x, 1e-6)
    assert all(result.ok for result in results.values()), results


@pytest.mark.parametrize(
    "name", ["MaxPooling1D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D"]
)
def test_every_pooling_layer_raises_value_error_for_zero_strides(name):
    with pytest.raises(ValueError, match="strides"):
        getattr(keras_cnn_ref.layers, name)(2, strides=0)


def test_average_same_excludes_pads_from_the_divisor():
    x = np.arange(1.0, 10.0, dtype="float32").reshape(1, 3, 3, 1)
    out = keras_cnn_ref.layers.AveragePooling2D(2, padding="same")(x)
    np.testing.assert_array_equal(np.asarray(out)[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])
