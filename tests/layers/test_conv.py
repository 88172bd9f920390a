"""The convolution layers beyond the conformance suite's tables: losses, initializers, constraints, LoRA, 1-D and 3-D.

The argument grid, edge cases, errors and serialization run in `compat/`.
"""

import contextlib

import keras
import numpy as np
import pytest

import keras_cnn_ref.layers
from keras_cnn_ref import kernels, plugin
from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.conformance.harness import check_layer
from keras_cnn_ref.kernels import Algorithm, algorithms_run
from keras_cnn_ref.layers import Conv2D

pytestmark = pytest.mark.quick


def test_regularizers_add_the_same_losses_as_builtin(rng):
    config = {
        "filters": 4,
        "kernel_size": 3,
        "kernel_regularizer": "l2",
        "bias_regularizer": "l1",
        "activity_regularizer": keras.regularizers.L2(0.1),
    }
    x = rng.standard_normal((2, 7, 7, 3)).astype("float32")
    ours, builtin = Conv2D(**config), keras.layers.Conv2D(**config)
    builtin.build(x.shape)
    builtin.set_weights([rng.standard_normal(w.shape).astype("float32") for w in builtin.get_weights()])
    ours.build(x.shape)
    ours.set_weights(builtin.get_weights())
    ours(x), builtin(x)
    assert len(ours.losses) == len(builtin.losses) == 3
    np.testing.assert_allclose([float(v) for v in ours.losses], [float(v) for v in builtin.losses], rtol=1e-5)


def test_seeded_initializers_give_builtin_weights():
    config = {
        "filters": 4,
        "kernel_size": 3,
        "kernel_initializer": keras.initializers.HeNormal(seed=3),
        "bias_initializer": keras.initializers.RandomUniform(seed=4),
    }
    ours, builtin = Conv2D(**config), keras.layers.Conv2D(**config)
    ours.build((None, 8, 8, 2))
    builtin.build((None, 8, 8, 2))
    for ours_weight, builtin_weight in zip(ours.get_weights(), builtin.get_weights(), strict=True):
        np.testing.assert_array_equal(ours_weight, builtin_weight)


def test_constraints_apply_after_a_training_step_as_builtin(rng):
    x, y = rng.standard_normal((8, 7, 7, 2)).astype("float32"), rng.standard_normal((8, 5, 5, 3)).astype("float32")
    weights = []
    for conv in (Conv2D, keras.layers.Conv2D):
        model = keras.Sequential(
            [
                keras.Input((7, 7, 2)),
                conv(3, 3, kernel_constraint="non_neg", bias_constraint=keras.constraints.MaxNorm(0.01)),
            ]
        )
        model.set_weights([np.full(w.shape, 0.05, "float32") for w in model.get_weights()])
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse", jit_compile=True)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    assert (weights[0][0] >= 0).all() and (weights[0][0] == 0).any()  # the constraint did bite
    for ours_weight, builtin_weight in zip(*weights, strict=True):
        np.testing.assert_allclose(ours_weight, builtin_weight, rtol=1e-5, atol=1e-7)


def test_lora_can_be_enabled_after_build_and_serializes_like_builtin():
    ours, builtin = Conv2D(4, 3, name="conv"), keras.layers.Conv2D(4, 3, name="conv")
    for layer in (ours, builtin):
        layer.build((None, 8, 8, 2))
        layer.enable_lora(2)
    assert [w.path for w in ours.trainable_weights] == [w.path for w in builtin.trainable_weights]
    assert ours.get_config() == builtin.get_config()


@pytest.mark.parametrize(
    "layer, config, shape",
    [
        ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 11, 3)),
        (
            "Conv1D",
            {
                "filters": 6,
                "kernel_size": 4,
                "strides": 2,
                "padding": "same",
                "groups": 3,
                "data_format": "channels_first",
            },
            (2, 3, 10),
        ),
        ("Conv3D", {"filters": 4, "kernel_size": (3, 2, 2), "strides": (1, 2, 1), "padding": "same"}, (2, 5, 6, 4, 2)),
        (
            "Conv3D",
            {
                "filters": 4,
                "kernel_size": 2,
                "dilation_rate": 2,
                "groups": 2,
                "data_format": "channels_first",
                "activation": "relu",
            },
            (1, 4, 5, 5, 6),
        ),
    ],
    ids=["1d-causal-dilated", "1d-groups-channels-first", "3d-same-strided", "3d-dilated-groups-channels-first"],
)
def test_1d_and_3d_match_builtin_with_copied_weights(layer, config, shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    results = check_layer(getattr(keras_cnn_ref.layers, layer), getattr(keras.layers, layer), config, x, 1e-5)
    assert all(result.ok for result in results.values()), results


def test_causal_output_never_sees_the_future(rng):
    layer = keras_cnn_ref.layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = rng.standard_normal((1, 12, 3)).astype("float32")
    changed = x.copy()
    changed[:, 7:] += 1.0  # only steps from 7 on
    difference = np.abs(np.asarray(layer(changed)) - np.asarray(layer(x))).sum(axis=(0, 2))
    assert (difference[:7] == 0).all() and (difference[7:] > 0).all()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_a_subclass_overriding_convolution_op_keeps_keras_steps(data_format, rng):
    """Our `call` adds the bias inside the kernel, unless a subclass replaces Keras's `convolution_op` seam."""

    class Negated:
        def convolution_op(self, inputs, kernel):
            return super().convolution_op(inputs, -kernel)

    ours_class = type("OursNegated", (Negated, Conv2D), {})
    builtin_class = type("BuiltinNegated", (Negated, keras.layers.Conv2D), {})
    config = {"filters": 3, "kernel_size": 3, "activation": "relu", "data_format": data_format}
    x = rng.standard_normal((2, 4, 7, 7) if data_format == "channels_first" else (2, 7, 7, 4)).astype("float32")
    results = check_layer(ours_class, builtin_class, config, x, 1e-5)
    assert all(result.ok for result in results.values()), results
    negated = check_layer(ours_class, keras.layers.Conv2D, config, x, 1e-5)
    assert not negated["output"].ok  # the override is really called


@pytest.mark.parametrize("route", ["layers", "plugin"])
def test_a_model_runs_minimal_filtering_under_fast_and_never_under_exact(route, rng):
    """Through the layers and through the plugin, in the jaxpr and in Keras's own jitted predict."""
    layer = Conv2D if route == "layers" else keras.layers.Conv2D
    model = keras.Sequential([keras.Input((12, 12, 32)), layer(32, 3, padding="same"), layer(8, 3)])
    x = rng.standard_normal((2, 12, 12, 32)).astype("float32")
    with plugin.enabled() if route == "plugin" else contextlib.nullcontext():
        exact = model.predict(x, verbose=0)
        assert Algorithm.MINIMAL_FILTERING not in algorithms_run(model, x)
        with kernels.policy("fast"):
            assert Algorithm.MINIMAL_FILTERING in algorithms_run(model, x)
            fast = model.predict(x, verbose=0)  # Keras's predict function, traced again
        np.testing.assert_array_equal(model.predict(x, verbose=0), exact)
    assert not np.array_equal(fast, exact) and compare(fast, exact, TOLERANCES["float32"]).ok
