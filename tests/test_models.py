"""The documented MNIST model: shapes, parameter counts, training and JAX transformations."""

import jax
import keras
import numpy as np
import pytest

from keras_cnn_ref.models import DOCUMENTED_LAYERS, TOTAL_PARAMS, documented_model


@pytest.mark.quick
def test_documented_shapes_and_parameter_counts():
    model = documented_model()
    assert [layer.count_params() for layer in model.layers] == [40, 0, 296, 0, 1168, 0, 4640, 330]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [s["output_shape"] for s in DOCUMENTED_LAYERS]
    assert model.count_params() == TOTAL_PARAMS == 6474


def _twin_models():
    """Ours and built-in, with the same seeded weights.

    Seeded, because the weights used to come from wherever Keras's global
    seed had got to in the test process, so the result hung on which tests
    ran first. From one start of the 40 tried (seed 18), the twins' round-off
    grows past the tolerance within the six steps (23x), with this
    project's kernels from before and after the change that met it alike
    (most likely a max-pool near-tie or a ReLU at zero tipping the other way
    in one model).
    """
    keras.utils.set_random_seed(0)
    ours, builtin = documented_model(), documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D)
    ours.set_weights(builtin.get_weights())
    return ours, builtin


def test_fit_evaluate_predict_with_jit_compile_follow_builtin(rng):
    x = rng.random((96, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 96)
    histories, models = [], _twin_models()
    for model in models:
        # SGD, not Adam: Adam's first steps are about lr * sign(gradient), so on
        # gradients near zero it turns float32 round-off into whole steps (see
        # tools/roundoff_growth.py); SGD keeps the twins within round-off.
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=True,
        )
        histories.append(model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history)
    ours, builtin = models
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-5)
    for ours_weight, builtin_weight in zip(ours.get_weights(), builtin.get_weights(), strict=True):
        np.testing.assert_allclose(ours_weight, builtin_weight, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), builtin.evaluate(x, y, verbose=0), rtol=1e-4)
    np.testing.assert_allclose(ours.predict(x, verbose=0), builtin.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_stateless_call_under_jit_and_grad_equals_eager(rng):
    model = documented_model()
    x = rng.random((4, 28, 28, 1)).astype("float32")
    trainable = [v.value for v in model.trainable_variables]

    def loss(trainable, x):
        probabilities, _ = model.stateless_call(trainable, [], x)
        return -jax.numpy.log(probabilities[:, 3]).mean()

    jitted = jax.jit(jax.grad(loss, argnums=(0, 1)))(trainable, x)
    eager = jax.grad(loss, argnums=(0, 1))(trainable, x)
    for jitted_grad, eager_grad in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
        assert np.isfinite(jitted_grad).all() and np.abs(jitted_grad).sum() > 0
        np.testing.assert_allclose(jitted_grad, eager_grad, rtol=1e-5, atol=1e-7)
