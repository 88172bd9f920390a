"""Runs an implementation and the reference side by side, teenygrad-style.

`check_layer` builds both layers from one config, gives the reference random
weights and copies them into ours, then compares the forward output and the
gradients (a VJP with a fixed random cotangent, so that every output element
counts with its own weight) with respect to every trainable weight and to the
input. Shapes and dtypes must match exactly, values within the tolerance.
"""

from __future__ import annotations

import importlib

import jax
import numpy as np

from keras_cnn_ref import layers
from keras_cnn_ref._registry import LAYERS, available
from keras_cnn_ref.compare import TOLERANCES, Comparison, agree, compare
from keras_cnn_ref.conformance.cases import DEFAULT_INPUT_SHAPE
from keras_cnn_ref.layers._backend import import_keras_on_jax, minor_version

keras = import_keras_on_jax()
KNOWN = available(minor_version(keras.__version__))  # the layers this Keras has


def missing_layer(key: str) -> str:
    """Why this Keras has no layer `key`: a newer Keras has it, or no Keras does.

    >>> missing_layer("conv4d")  # doctest: +ELLIPSIS
    "No layer 'conv4d'; the keys are ...avgpool1d, avgpool2d, ..."
    """
    if key in LAYERS:
        entry = LAYERS[key]
        return (
            f"{entry.class_name} ({key}) needs Keras {'.'.join(map(str, entry.since))} or newer; "
            f"this is Keras {keras.__version__}"
        )
    return f"No layer {key!r}; the keys are {', '.join(sorted(KNOWN))}"


class Implementation:
    """The layer classes under test (Keras's constructors), by registry key; keras_cnn_ref's where none is given.

    The keys are `keras_cnn_ref._registry.LAYERS`'s that this Keras has:
    `Implementation(conv2d=MyConv2D)`, or `Implementation(MyConv2D, MyMaxPooling2D)`.
    """

    def __init__(self, conv2d: type | None = None, maxpool2d: type | None = None, **classes: type):
        given = {"conv2d": conv2d, "maxpool2d": maxpool2d, **classes}
        for key in given:
            if key not in KNOWN:
                raise ValueError(missing_layer(key))
        self.classes = {key: given.get(key) or getattr(layers, entry.class_name) for key, entry in KNOWN.items()}

    def layer(self, key: str) -> type:
        return self.classes[key]

    def __getattr__(self, key: str) -> type:  # impl.conv2d, as impl.layer("conv2d")
        classes = self.__dict__.get("classes", {})
        if key not in classes:
            raise AttributeError(f"{type(self).__name__} has no layer {key!r}")
        return classes[key]

    def describe(self) -> dict[str, str]:
        return {key: f"{cls.__module__}:{cls.__qualname__}" for key, cls in self.classes.items()}


# What any layer of a kind takes: a config for `check_kind`'s trial call.
_TRIAL_CONFIGS = {
    "conv": {"filters": 2, "kernel_size": 2},
    "conv_transpose": {"filters": 2, "kernel_size": 2},
    "depthwise": {"kernel_size": 2},
    "separable": {"filters": 2, "kernel_size": 2},
    "max_pool": {"pool_size": 2},
    "average_pool": {"pool_size": 2},
    "adaptive_max_pool": {"output_size": 2},
    "adaptive_average_pool": {"output_size": 2},
}


def check_kind(key: str, cls: type) -> None:
    """Raises a TypeError unless `cls` can stand for the layer `key` names: a Keras layer that takes its
    arguments and gives built-in's output shape on a symbolic input of its rank.

    >>> check_kind("maxpool2d", keras.layers.Conv2D)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    TypeError: ...:Conv2D is not a MaxPooling2D: MaxPooling2D(pool_size=2) on an input (None, 6, 6, 4) gives TypeError: ...missing 2 required positional arguments: 'filters' and 'kernel_size'
    """
    entry, name = KNOWN[key], f"{cls.__module__}:{cls.__qualname__}"
    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        raise TypeError(f"{name} is not a Keras layer (a subclass of keras.layers.Layer), so not a {entry.class_name}")
    config, shape = _TRIAL_CONFIGS[entry.kind], (None, *(6,) * entry.rank, 4)
    expected = getattr(keras.layers, entry.class_name)(**config)(keras.Input(shape[1:])).shape
    try:
        received = cls(**config)(keras.Input(shape[1:])).shape
    except Exception as error:
        received = f"{type(error).__name__}: {' '.join(str(error).split())}"
    if received != expected:
        call = f"{entry.class_name}({', '.join(f'{k}={v}' for k, v in config.items())}) on an input {shape}"
        raise TypeError(f"{name} is not a {entry.class_name}: {call} gives {received}")


BUILTIN = Implementation(**{key: getattr(keras.layers, entry.class_name) for key, entry in KNOWN.items()})


def load_class(spec: str) -> type:
    """The class that `"package.module:Class"` names.

    >>> load_class("keras.layers:Conv2D") is keras.layers.Conv2D
    True
    >>> load_class("keras_cnn_ref:Conv2D").__module__   # a name the package loads when first asked for
    'keras_cnn_ref.layers._conv'
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"A class is given as MODULE:CLASS. Received: {spec!r}")
    cls = getattr(importlib.import_module(module_name), class_name, None)  # a lazy module attribute too
    if not isinstance(cls, type):
        raise ValueError(f"{module_name} has no class {class_name!r}. Received: {spec!r}")
    return cls


def given_class(key: str, spec: str) -> type:
    """The class `"MODULE:CLASS"` names, to stand for the layer `key`: one this Keras has (`missing_layer`),
    then the class (`load_class`), then of its kind (`check_kind`). The command's and the plugin's check."""
    Implementation(**{key: None})
    cls = load_class(spec)
    check_kind(key, cls)
    return cls


def vjp_program(layer, x, seed: int = 0):
    """`layer`'s forward pass and the VJP of a seeded random cotangent, as one function and its arguments.

    `program(*args)` returns `(output, weight_grads, input_grad)`.
    """
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def forward(trainable, x):
        return layer.stateless_call(trainable, non_trainable, x)[0]

    def program(trainable, x, cotangent):
        output, vjp = jax.vjp(forward, trainable, x)
        return output, *vjp(cotangent)

    out_spec = jax.eval_shape(forward, trainable, x)
    cotangent = np.random.default_rng(seed).standard_normal(out_spec.shape).astype(out_spec.dtype)
    return program, (trainable, x, cotangent)


def traced_outputs_and_grads(layer, x, seed: int = 0) -> tuple[dict[str, np.ndarray], jax.extend.core.ClosedJaxpr]:
    """`outputs_and_grads`, and the jaxpr of the program that computed them, from one trace."""
    program, args = vjp_program(layer, x, seed)
    traced = jax.jit(program).trace(*args)
    output, weight_grads, input_grad = traced.lower().compile()(*args)
    names = [f"grad {v.path.removeprefix(layer.name + '/')}" for v in layer.trainable_variables]
    arrays = {"output": output, **dict(zip(names, weight_grads)), "grad input": input_grad}
    return {name: np.asarray(array) for name, array in arrays.items()}, traced.jaxpr


def outputs_and_grads(layer, x, seed: int = 0) -> dict[str, np.ndarray]:
    """`layer(x)` and the VJP of a seeded random cotangent, all jit-compiled.

    Returns `{"output": ..., "grad <weight path>": ..., "grad input": ...}`.
    """
    return traced_outputs_and_grads(layer, x, seed)[0]


def compare_outputs_and_grads(ours, ref, x, tolerance: float) -> dict[str, Comparison]:
    """Copies `ref`'s weights into `ours` and compares outputs and gradients."""
    ours.set_weights(ref.get_weights())
    ours_arrays, ref_arrays = outputs_and_grads(ours, x), _reference_outputs_and_grads(ref, x)
    if ours_arrays.keys() != ref_arrays.keys():
        detail = f"weights differ: tested={sorted(ours_arrays)} | builtin={sorted(ref_arrays)}"
        return {"weights": Comparison(False, detail=detail)}
    return {name: _compare_typed(ours_arrays[name], ref_arrays[name], tolerance) for name in ref_arrays}


def _reference_outputs_and_grads(ref, x) -> dict[str, np.ndarray]:
    """`outputs_and_grads` of built-in's layer.

    Keras 3.13 and 3.14's JAX convolution refuses an empty batch ("resulted in
    an empty output"; 3.15 computes it). There the reference is a one-image
    batch's, emptied: no output or input-gradient rows, zero weight gradients.
    """
    try:
        return outputs_and_grads(ref, x)
    except ValueError:
        if x.shape[0]:
            raise
    arrays = outputs_and_grads(ref, np.zeros((1, *x.shape[1:]), x.dtype))
    return {
        name: array[:0] if name in ("output", "grad input") else np.zeros_like(array) for name, array in arrays.items()
    }


def _compare_typed(ours: np.ndarray, ref: np.ndarray, tolerance: float) -> Comparison:
    if ours.dtype != ref.dtype:
        return Comparison(False, detail=f"dtype mismatch: tested={ours.dtype} | builtin={ref.dtype}")
    return compare(ours, ref, tolerance)


def check_layer(ours_cls, ref_cls, config: dict, x, tolerance: float, seed: int = 0) -> dict[str, Comparison]:
    """Builds both classes from `config` and compares them on input `x`.

    >>> results = check_layer(Conv2D, keras.layers.Conv2D, {"filters": 2,
    ...     "kernel_size": 3}, np.ones((1, 5, 5, 1), "float32"), 1e-5)
    >>> all(r.ok for r in results.values())
    True
    """
    ours, ref = ours_cls(**config), ref_cls(**config)
    ours.build(x.shape)
    ref.build(x.shape)
    randomize_weights(ref, seed)
    return compare_outputs_and_grads(ours, ref, x, tolerance)


def randomize_weights(layer, seed: int) -> None:
    """Gives a layer or model seeded standard-normal weights, in their dtypes."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()])


def case_input(case: dict, seed: int = 0) -> np.ndarray:
    """The float32 input a case describes, by its "input" kind (default "normal")."""
    rng = np.random.default_rng(seed)
    shape = case.get("input_shape", DEFAULT_INPUT_SHAPE)
    return _INPUTS[case.get("input", "normal")](rng, shape).astype("float32")


def _impulse(rng, shape):
    x = np.zeros(shape)
    x[(slice(None), *(n // 2 for n in shape[1:-1]), slice(None))] = 1.0  # one 1 in the middle of each image
    return x


def _nan_inf(rng, shape):
    x = rng.standard_normal(shape)
    specials = rng.choice([np.nan, np.inf, -np.inf], size=3)
    flat = rng.choice(x.size, size=3, replace=False)
    x.flat[flat] = specials
    return x


_INPUTS = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "ties": lambda rng, shape: rng.integers(-2, 2, size=shape),  # most windows hold equal maxima
    "negative": lambda rng, shape: -rng.integers(1, 6, size=shape),
    "constant": lambda rng, shape: np.full(shape, 0.5),
    "minus_inf": lambda rng, shape: np.full(shape, -np.inf),
    "impulse": _impulse,
    "nan_inf": _nan_inf,
}


def case_tolerance(case: dict) -> float:
    """The tolerance of the dtype the case computes in (float32 by default)."""
    policy = keras.dtype_policies.get(case["config"].get("dtype", "float32"))
    return TOLERANCES[policy.compute_dtype]


def check_case(ours_cls, ref_cls, case: dict) -> dict[str, Comparison]:
    """`check_layer` on one row of a case table."""
    return check_layer(ours_cls, ref_cls, case["config"], case_input(case), case_tolerance(case))


def run_layer_case(case: dict, impl: Implementation) -> dict[str, Comparison]:
    """One layer-grid or edge case: numerics, and the symbolic output shape with None dims."""
    ours_cls, builtin_cls = impl.layer(case["layer"]), BUILTIN.layer(case["layer"])
    results = check_case(ours_cls, builtin_cls, case)
    shape = case.get("input_shape", DEFAULT_INPUT_SHAPE)
    channels_first = case["config"].get("data_format") == "channels_first"
    channels = shape[1] if channels_first else shape[-1]
    unknown = (None,) * (len(shape) - 2)
    symbolic = keras.Input((channels, *unknown) if channels_first else (*unknown, channels))
    # With None batch and spatial dimensions, only the channels are known (and an adaptive pool's windows).
    # Built-in's pools refuse upper-case padding in a symbolic call (ours take it); its shape rule is the same.
    lowered = {
        **case["config"],
        **({"padding": case["config"]["padding"].lower()} if "padding" in case["config"] else {}),
    }
    results["symbolic shape"] = agree(
        tested=ours_cls(**case["config"])(symbolic).shape, builtin=builtin_cls(**lowered)(symbolic).shape
    )
    return results
