"""`MaxPooling2D` beyond the conformance suite's tables."""

import keras
import pytest

from keras_cnn_ref import MaxPooling2D


def test_upper_case_padding_works_in_symbolic_calls_where_builtin_fails():
    inputs = keras.Input((None, None, 3))
    assert MaxPooling2D(2, padding="SAME")(inputs).shape == (None, None, None, 3)
    assert MaxPooling2D(2, padding="SAME").get_config()["padding"] == "same"
    with pytest.raises(ValueError, match="padding"):  # Keras 3.15's BasePooling keeps "SAME" as given
        keras.layers.MaxPooling2D(2, padding="SAME")(inputs)
