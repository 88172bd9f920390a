"""Bad arguments and inputs, side by side with built-in Keras."""

import keras
import numpy as np
import pytest

import keras_cnn_ref

# Each case: the layer, its arguments, and an input to call it on (a shape for
# an eager call, or `symbolic` for a keras.Input). `mentions` must appear in
# our message: the offending argument or value.
SAME_AS_BUILTIN = [
    {"id": "conv-filters-0", "layer": "Conv2D", "args": {"filters": 0, "kernel_size": 3}, "mentions": "filters=0"},
    {"id": "conv-filters-negative", "layer": "Conv2D", "args": {"filters": -2, "kernel_size": 3}, "mentions": "filters"},
    {"id": "conv-kernel-size-0", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": (0, 3)},
     "mentions": "kernel_size"},
    {"id": "conv-strides-0", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3, "strides": 0},
     "mentions": "strides"},
    {"id": "conv-groups-0", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3, "groups": 0},
     "mentions": "groups=0"},
    {"id": "conv-groups-not-dividing-filters", "layer": "Conv2D", "args": {"filters": 3, "kernel_size": 3, "groups": 2},
     "mentions": "groups=2"},
    {"id": "conv-groups-not-dividing-channels", "layer": "Conv2D", "args": {"filters": 4, "kernel_size": 3, "groups": 2},
     "input": (2, 8, 8, 3), "mentions": "groups=2"},
    {"id": "conv-strides-with-dilation", "layer": "Conv2D",
     "args": {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "mentions": "dilation_rate"},
    {"id": "conv-unknown-padding", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3, "padding": "full"},
     "mentions": "full"},
    {"id": "conv-causal-padding-in-2d", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3, "padding": "causal"},
     "mentions": "causal"},
    {"id": "conv-unknown-data-format", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3, "data_format": "NHWC"},
     "mentions": "data_format"},
    {"id": "conv-input-rank-3", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3}, "input": (8, 8, 3),
     "mentions": "ndim=3"},
    {"id": "conv-input-rank-5", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3}, "input": (1, 2, 8, 8, 3),
     "mentions": "(1, 2, 8, 8, 3)"},
    {"id": "conv-wrong-channel-count", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 3},
     "build": (None, 8, 8, 3), "input": (2, 8, 8, 4), "mentions": "axis -1"},
    {"id": "conv-zero-size-output", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 9}, "input": (2, 8, 8, 3),
     "mentions": "zero or negative"},
    {"id": "conv-zero-size-output-symbolic", "layer": "Conv2D", "args": {"filters": 2, "kernel_size": 9},
     "input": "symbolic", "mentions": "zero or negative"},
    {"id": "pool-size-0", "layer": "MaxPooling2D", "args": {"pool_size": 0}, "mentions": "pool_size"},
    {"id": "pool-size-negative", "layer": "MaxPooling2D", "args": {"pool_size": (2, -1)}, "mentions": "pool_size"},
    {"id": "pool-strides-negative", "layer": "MaxPooling2D", "args": {"pool_size": 2, "strides": -1},
     "mentions": "strides"},
    {"id": "pool-unknown-data-format", "layer": "MaxPooling2D", "args": {"data_format": "NCHW"},
     "mentions": "data_format"},
    {"id": "pool-input-rank-3", "layer": "MaxPooling2D", "args": {}, "input": (8, 8, 3), "mentions": "ndim=3"},
    {"id": "pool-larger-than-valid-input-symbolic", "layer": "MaxPooling2D", "args": {"pool_size": 9},
     "input": "symbolic", "mentions": "pool_size"},
]

# Where built-in Keras accepts something meaningless, ours raises a ValueError.
CLEARER_THAN_BUILTIN = [
    {"id": "pool-strides-0", "layer": "MaxPooling2D", "args": {"pool_size": 2, "strides": 0},
     "input": (2, 8, 8, 3), "builtin": TypeError, "mentions": "strides"},  # built-in: TypeError from XLA, on call
    {"id": "pool-unknown-padding", "layer": "MaxPooling2D", "args": {"padding": "full"},
     "builtin": None, "mentions": "padding='full'"},  # built-in: accepted until called
    {"id": "pool-larger-than-valid-input", "layer": "MaxPooling2D", "args": {"pool_size": 9},
     "input": (2, 8, 8, 3), "builtin": None, "mentions": "larger than the input"},  # built-in: an empty output
]


def _error(module, case):
    """The exception that building and calling `case`'s layer from `module` raises."""
    try:
        layer = getattr(module, case["layer"])(**case["args"])
        if "build" in case:
            layer.build(case["build"])
        if case.get("input") == "symbolic":
            layer(keras.Input((8, 8, 3)))
        elif "input" in case:
            layer(np.zeros(case["input"], "float32"))
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return error
    return None


@pytest.mark.parametrize("case", SAME_AS_BUILTIN, ids=lambda case: case["id"])
def test_same_exception_type_as_builtin(case):
    builtin, ours = _error(keras.layers, case), _error(keras_cnn_ref, case)
    assert builtin is not None, "built-in accepted the case: the table is out of date"
    assert type(ours) is type(builtin), f"ours={ours!r} | builtin={builtin!r}"
    assert case["mentions"] in str(ours)


@pytest.mark.parametrize("case", CLEARER_THAN_BUILTIN, ids=lambda case: case["id"])
def test_value_error_where_builtin_accepts_meaningless_input(case):
    builtin, ours = _error(keras.layers, case), _error(keras_cnn_ref, case)
    assert type(builtin) is (case["builtin"] or type(None)), f"built-in now gives {builtin!r}: update the table"
    assert isinstance(ours, ValueError) and case["mentions"] in str(ours), repr(ours)
