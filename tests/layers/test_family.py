"""The transposed, depthwise, separable and adaptive layers against built-in Keras, weights copied.

The argument grids, edge cases, errors and serialization run in `compat/`;
these are the quick checks that each layer is Keras's, on our kernels.
"""

import keras
import numpy as np
import pytest

from keras_cnn_ref import layers
from keras_cnn_ref._registry import LAYERS, available
from keras_cnn_ref.conformance.harness import check_layer
from keras_cnn_ref.layers._backend import minor_version

KNOWN = available(minor_version(keras.__version__))
CASES = [  # (registry key, config, input shape)
    (
        "conv1dtranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1, "activation": "relu"},
        (2, 7, 4),
    ),
    (
        "conv2dtranspose",
        {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "data_format": "channels_first"},
        (2, 4, 5, 6),
    ),
    ("conv2dtranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (2, 5, 5, 3)),
    ("conv3dtranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (1, 3, 4, 3, 2)),
    ("depthwiseconv1d", {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"}, (2, 9, 3)),
    (
        "depthwiseconv2d",
        {"kernel_size": 3, "depth_multiplier": 3, "dilation_rate": 2, "data_format": "channels_first"},
        (2, 2, 9, 8),
    ),
    ("separableconv1d", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "activation": "tanh"}, (2, 9, 3)),
    ("separableconv2d", {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 9, 8, 3)),
    ("adaptivemaxpool1d", {"output_size": 4}, (2, 9, 3)),
    ("adaptivemaxpool2d", {"output_size": (3, 5), "data_format": "channels_first"}, (2, 3, 7, 9)),
    ("adaptivemaxpool3d", {"output_size": 2}, (1, 5, 4, 3, 2)),
    ("adaptiveavgpool1d", {"output_size": 5}, (2, 3, 3)),
    ("adaptiveavgpool2d", {"output_size": (4, 4)}, (2, 8, 9, 3)),
    ("adaptiveavgpool3d", {"output_size": (2, 3, 1), "data_format": "channels_first"}, (1, 2, 5, 6, 4)),
]


@pytest.mark.parametrize(
    "key, config, shape",
    [case for case in CASES if case[0] in KNOWN],
    ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES) if case[0] in KNOWN],
)
def test_outputs_and_gradients_match_builtin_with_copied_weights(key, config, shape, rng):
    cls = LAYERS[key].class_name
    x = rng.integers(-2, 2, shape).astype("float32") if "pool" in key else rng.standard_normal(shape).astype("float32")
    results = check_layer(getattr(layers, cls), getattr(keras.layers, cls), config, x, 1e-5)
    assert results and all(result.ok for result in results.values()), results


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "float16"])
def test_16_bit_policies_match_builtin_to_one_ulp(dtype, rng):
    x = rng.standard_normal((2, 6, 6, 4)).astype("float16" if dtype == "float16" else "float32")
    for cls, config in [
        ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}),
        ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "padding": "same"}),
        ("DepthwiseConv2D", {"kernel_size": 3}),
    ]:
        results = check_layer(
            getattr(layers, cls),
            getattr(keras.layers, cls),
            {**config, "dtype": dtype},
            x,
            2.0**-7 if "bfloat16" in dtype else 2.0**-10,
        )
        assert all(result.ok for result in results.values()), (cls, results)


def test_a_decoder_trains_as_builtin_with_the_same_weights(rng):
    x, y = rng.standard_normal((8, 8, 8, 3)).astype("float32"), rng.standard_normal((8, 16, 16, 2)).astype("float32")
    weights = []
    for family in (layers, keras.layers):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((8, 8, 3)),
                family.SeparableConv2D(6, 3, padding="same"),
                family.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
                family.DepthwiseConv2D(3, padding="same"),
                keras.layers.Conv2D(2, 1),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=True)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for ours, builtin in zip(*weights, strict=True):
        np.testing.assert_allclose(ours, builtin, rtol=1e-4, atol=1e-5)
