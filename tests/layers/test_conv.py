"""`Conv2D` beyond the conformance suite's tables: losses, initializers, constraints, LoRA.

The argument grid, edge cases, errors and serialization run in `compat/`.
"""

import keras
import numpy as np

from keras_cnn_ref import Conv2D


def test_regularizers_add_the_same_losses_as_builtin(rng):
    config = {"filters": 4, "kernel_size": 3, "kernel_regularizer": "l2", "bias_regularizer": "l1",
              "activity_regularizer": keras.regularizers.L2(0.1)}
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
    config = {"filters": 4, "kernel_size": 3, "kernel_initializer": keras.initializers.HeNormal(seed=3),
              "bias_initializer": keras.initializers.RandomUniform(seed=4)}
    ours, builtin = Conv2D(**config), keras.layers.Conv2D(**config)
    ours.build((None, 8, 8, 2))
    builtin.build((None, 8, 8, 2))
    for ours_weight, builtin_weight in zip(ours.get_weights(), builtin.get_weights(), strict=True):
        np.testing.assert_array_equal(ours_weight, builtin_weight)


def test_constraints_apply_after_a_training_step_as_builtin(rng):
    x, y = rng.standard_normal((8, 7, 7, 2)).astype("float32"), rng.standard_normal((8, 5, 5, 3)).astype("float32")
    weights = []
    for conv in (Conv2D, keras.layers.Conv2D):
        model = keras.Sequential([keras.Input((7, 7, 2)), conv(3, 3, kernel_constraint="non_neg",
                                  bias_constraint=keras.constraints.MaxNorm(0.01))])
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
