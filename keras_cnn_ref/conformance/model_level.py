"""Section "model_level": whole Keras models on the backend plugin, against built-in Keras.

Each case builds one model from Keras's own layers (keras.applications models
and 1-D, 2-D and 3-D conv/pool stacks), computes its output and the VJP of a
random cotangent with respect to every weight and the input, once on
built-in Keras and once with `keras_cnn_ref.plugin` enabled, and compares
them within 1e-4 (normwise relative). While the plugin is on, XLA's
convolution and `reduce_window` refuse to run; the case checks that the
refusal does stop built-in Keras, and that no XLA window op was traced.

This section checks `keras_cnn_ref.plugin`, whatever layers are given to the runner.
"""

from __future__ import annotations

import contextlib

import jax
import jax.extend
from jax._src.lax import convolution, windowed_reductions  # the primitives; jax.lax exports no handle

from keras_cnn_ref import plugin
from keras_cnn_ref.compare import Comparison, agree, compare
from keras_cnn_ref.conformance.harness import (
    Implementation,
    case_input,
    keras,
    outputs_and_grads,
    traced_outputs_and_grads,
)
from keras_cnn_ref.conformance.model_cases import MODEL_CASES, STACKS
from keras_cnn_ref.conformance.suite import Section

TOLERANCE = 1e-4
XLA_WINDOW_PRIMITIVES = {
    "conv_general_dilated",
    "reduce_window",
    "reduce_window_sum",
    "reduce_window_max",
    "select_and_scatter_add",
    "select_and_gather_add",
}


class XlaRefused(RuntimeError):
    """Raised by XLA's window ops while `xla_window_ops_refuse` is on."""


# The primitives behind `lax.conv_general_dilated`, `lax.conv_transpose` (a dilated convolution too),
# `lax.reduce_window` and the gradients of window reductions.
REFUSED_PRIMITIVES = (
    convolution.conv_general_dilated_p,
    windowed_reductions.reduce_window_p,
    windowed_reductions.reduce_window_sum_p,
    windowed_reductions.reduce_window_max_p,
    windowed_reductions.reduce_window_min_p,
    windowed_reductions.select_and_scatter_p,
    windowed_reductions.select_and_scatter_add_p,
    windowed_reductions.select_and_gather_add_p,
)


@contextlib.contextmanager
def xla_window_ops_refuse():
    """Makes XLA's window ops raise `XlaRefused` when traced, however they are reached.

    Each primitive in `REFUSED_PRIMITIVES` refuses to be bound: a call of
    `jax.lax.conv_transpose` or `jnp.convolve` is stopped as surely as
    Keras's own `lax.reduce_window`.
    """

    def refuse(primitive):
        def bind(*args, **kwargs):
            raise XlaRefused(f"XLA's {primitive.name} was traced while refused")

        return bind

    try:
        for primitive in REFUSED_PRIMITIVES:
            primitive.bind = refuse(primitive)
        yield
    finally:
        for primitive in REFUSED_PRIMITIVES:
            primitive.__dict__.pop("bind", None)


def traced_primitives(jaxpr) -> set[str]:
    """The names of every primitive in a jaxpr, nested jaxprs included."""
    names = set()
    for equation in jaxpr.eqns:
        names.add(equation.primitive.name)
        for sub in _jaxprs_in_params(equation.params):
            names |= traced_primitives(sub)
    return names


def _jaxprs_in_params(params: dict):
    """The jaxprs an equation holds (a `cond`'s branches, a `scan`'s body, ...), alone or in sequences.

    JAX 0.10's `jax.extend.core.jaxprs_in_params`, which JAX 0.8 and 0.9 lack.
    """
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jax.extend.core.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jax.extend.core.Jaxpr):
                yield item


def build_model(case: dict):
    """The case's model, of Keras's own layers, with seeded weights."""
    keras.utils.set_random_seed(0)
    shape = case["input_shape"][1:]
    if "application" in case:
        application = getattr(keras.applications, case["application"])
        return application(weights=None, include_top=False, input_shape=shape, pooling="avg")
    if case["stack"] == "unet":
        return unet(shape)
    layers = [getattr(keras.layers, name)(**args) for name, args in STACKS[case["stack"]]]
    return keras.Sequential([keras.Input(shape), *layers], name=case["stack"])


def unet(shape: tuple[int, ...]):
    """A small U-Net: two poolings down, two `Conv2DTranspose` up, each joined to its skip connection."""
    inputs = x = keras.Input(shape)
    skips = []
    for filters in (8, 16):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        skips.append(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    for filters, skip in zip((16, 8), reversed(skips)):
        x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(keras.layers.Concatenate()([x, skip]))
    return keras.Model(inputs, keras.layers.Conv2D(2, 1)(x), name="unet")


def _worst_weight_grad(ours: dict, builtin: dict) -> Comparison:
    names = [name for name in builtin if name.startswith("grad ") and name != "grad input"]
    comparisons = {name: compare(ours[name], builtin[name], TOLERANCE) for name in names}
    name = max(names, key=lambda n: (not comparisons[n].ok, comparisons[n].max_rel))
    return Comparison(
        all(c.ok for c in comparisons.values()),
        comparisons[name].max_abs,
        comparisons[name].max_rel,
        TOLERANCE,
        f"{len(names)} weights; worst {name.removeprefix('grad ')} {comparisons[name].detail}",
    )


def _refusal_stops_builtin(model, x) -> Comparison:
    with xla_window_ops_refuse():
        try:
            outputs_and_grads(model, x)
        except XlaRefused:
            return agree(builtin="refused", expected="refused")
    return agree(builtin="ran", expected="refused")


def run(case: dict, impl: Implementation) -> dict[str, Comparison]:
    model, x = build_model(case), case_input(case)
    builtin = outputs_and_grads(model, x)
    with plugin.enabled(), xla_window_ops_refuse():
        ours, jaxpr = traced_outputs_and_grads(model, x)
    traced = traced_primitives(jaxpr.jaxpr)
    return {
        "output": compare(ours["output"], builtin["output"], TOLERANCE),
        "grad input": compare(ours["grad input"], builtin["grad input"], TOLERANCE),
        "grad weights": _worst_weight_grad(ours, builtin),
        "xla window ops traced": agree(tested=sorted(traced & XLA_WINDOW_PRIMITIVES), expected=[]),
        "refusal stops built-in": _refusal_stops_builtin(model, x),
    }


SECTION = Section.for_this_keras("model_level", MODEL_CASES, run)
