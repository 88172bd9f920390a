"""A backend plugin: Keras's own convolution and pooling ops on this project's kernels.

Swapping layer classes is one way in (`keras_cnn_ref.layers`). The plugin is
the other: while it is enabled, Keras's JAX backend computes `keras.ops.conv`,
`depthwise_conv`, `separable_conv`, `conv_transpose`, `max_pool`,
`average_pool`, `adaptive_max_pool` and `adaptive_average_pool` (the
convolutions and pools in any number of spatial dimensions) with
`keras_cnn_ref.kernels`: no Keras op is left on XLA's window ops. Every
layer built on those ops follows (`keras.layers.Conv2D`, `Conv2DTranspose`,
`AdaptiveAveragePooling3D`, ... and so keras.applications models,
functional models and models loaded from `.keras` files), without editing a
line. (Keras's `unfold` and `fold`, image patches, are not convolution
layers and stay Keras's.)

>>> from keras_cnn_ref import plugin
>>> with plugin.enabled():
...     y = keras.layers.Conv2D(4, 3)(np.ones((1, 8, 8, 2), "float32"))
>>> plugin.is_enabled()
False

The ops are chosen when JAX traces a function: a function Keras compiled
before `enable()` (say a model's `predict` function) keeps the ops it was
traced with. Compile the model again (`model.compile(...)`) to retrace it.

The plugin replaces functions inside `keras.src.backend.jax.nn`, which is not
Keras's public API, so it runs only on the Keras versions it was tested with
(`SUPPORTED_KERAS`) and raises a RuntimeError on any other.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import warnings
from collections.abc import Iterator

import jax

from keras_cnn_ref import kernels
from keras_cnn_ref.layers._backend import import_keras_on_jax, kernel_plan, minor_version

keras = import_keras_on_jax()

# (major, minor) versions of Keras whose JAX backend this plugin was tested against: the range in pyproject.toml.
SUPPORTED_KERAS = ((3, 12), (3, 13), (3, 14), (3, 15))


def _data_format(data_format: str | None) -> str:
    """Keras's default for `None`: `keras.config.image_data_format()`."""
    return keras.config.image_data_format() if data_format is None else data_format.lower()


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """`keras.src.backend.jax.nn.conv` on `kernels.conv`: groups follow from the channels."""
    plan = kernel_plan(kernel)  # before the variable, if it is one, becomes its value
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    data_format = _data_format(data_format)
    if inputs.ndim < 2 or kernel.ndim != inputs.ndim:  # `kernels.conv` says what is wrong
        return kernels.conv(inputs, kernel, data_format=data_format)
    channels = inputs.shape[-1 if data_format == "channels_last" else 1]
    if channels % kernel.shape[-2]:
        raise ValueError(
            "The input's channels must be a multiple of the kernel's in_channels. "
            f"Received: inputs.shape={tuple(inputs.shape)} ({data_format}), kernel.shape={tuple(kernel.shape)}"
        )
    return kernels.conv(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        groups=channels // kernel.shape[-2],
        data_format=data_format,
        plan=plan,
    )


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """`keras.src.backend.jax.nn.depthwise_conv` on `kernels.depthwise_conv`.

    As built-in Keras's: the input and the kernel must share a dtype, and
    an input smaller than the kernel gives an empty output.
    """
    plan = kernel_plan(kernel)
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    if inputs.dtype != kernel.dtype:
        raise TypeError(
            "A depthwise convolution's input and kernel must have the same dtype. Received: "
            f"inputs.dtype={inputs.dtype}, kernel.dtype={kernel.dtype}"
        )
    try:
        return kernels.depthwise_conv(
            inputs,
            kernel,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            data_format=_data_format(data_format),
            plan=plan,
        )
    except kernels.NoOutputPositions as error:
        return keras.ops.zeros(error.shape, kernel.dtype)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None, dilation_rate=1):
    """`keras.src.backend.jax.nn.conv_transpose` on `kernels.conv_transpose`."""
    plan = kernel_plan(kernel)
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    return kernels.conv_transpose(
        inputs,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation_rate,
        data_format=_data_format(data_format),
        plan=plan,
    )


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """`keras.src.backend.jax.nn.max_pool` on `kernels.max_pool`."""
    return kernels.max_pool(
        keras.ops.convert_to_tensor(inputs),
        pool_size=pool_size,
        strides=strides,
        padding=padding,
        data_format=_data_format(data_format),
    )


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """`keras.src.backend.jax.nn.average_pool` on `kernels.average_pool`."""
    return kernels.average_pool(
        keras.ops.convert_to_tensor(inputs),
        pool_size=pool_size,
        strides=strides,
        padding=padding,
        data_format=_data_format(data_format),
    )


def adaptive_max_pool(inputs, output_size, data_format=None):
    """`keras.src.backend.jax.nn.adaptive_max_pool` (Keras 3.13 on) on `kernels.adaptive_max_pool`."""
    return kernels.adaptive_max_pool(
        keras.ops.convert_to_tensor(inputs), output_size, data_format=_data_format(data_format)
    )


def adaptive_average_pool(inputs, output_size, data_format=None):
    """`keras.src.backend.jax.nn.adaptive_average_pool` (Keras 3.13 on) on `kernels.adaptive_average_pool`."""
    return kernels.adaptive_average_pool(
        keras.ops.convert_to_tensor(inputs), output_size, data_format=_data_format(data_format)
    )


def _raising_as_built_in(name: str, ours):
    """`ours`, whose errors are also of the type built-in Keras raises for the same call.

    Code catches exception types: under the plugin, `except TypeError` (or
    `AttributeError`, ...) must still catch what it caught from built-in
    Keras. So when one of ours is not an instance of built-in's, it is
    raised again as an instance of both types, with our message. Built-in's
    type is found by tracing the original function abstractly on the same
    arguments (`jax.eval_shape`): nothing runs, and only when ours failed.
    """

    @functools.wraps(ours)
    def routed(*args, **kwargs):
        try:
            return ours(*args, **kwargs)
        except Exception as error:
            theirs = _built_in_error(_originals[name], args, kwargs)
            if theirs is None or isinstance(error, theirs):
                raise
            raise _both(type(error), theirs)(*error.args) from None

    return routed


def _built_in_error(original, args, kwargs) -> type[Exception] | None:
    """The type of what `original(*args, **kwargs)` raises while traced, or None if it does not.

    Its warnings (a division by a zero stride, say) are ours to ignore: ours has failed already.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            jax.eval_shape(lambda: original(*args, **kwargs))
        except Exception as error:
            return type(error)
    return None


@functools.cache
def _both(ours: type[Exception], theirs: type[Exception]) -> type[Exception]:
    """An exception type that is both `ours` and `theirs`, named as `theirs`."""
    return type(theirs.__name__, (ours, theirs), {"__module__": __name__})


# What `enable()` puts in Keras's JAX backend, where the backend has it (adaptive pooling came with
# Keras 3.13). Keras's `separable_conv` calls the module's `depthwise_conv` and `conv`, so it follows them.
ROUTED = {
    function.__name__: _raising_as_built_in(function.__name__, function)
    for function in (
        conv,
        depthwise_conv,
        conv_transpose,
        max_pool,
        average_pool,
        adaptive_max_pool,
        adaptive_average_pool,
    )
}

_lock = threading.RLock()
_depth = 0  # enable() calls not yet matched by disable()
_originals: dict = {}


def _backend_nn():
    """Keras's JAX `nn` module, once the Keras version and the replaced signatures are checked."""
    if minor_version(keras.__version__) not in SUPPORTED_KERAS:
        supported = ", ".join(f"{major}.{minor}.x" for major, minor in SUPPORTED_KERAS)
        raise RuntimeError(
            f"keras_cnn_ref.plugin replaces functions inside Keras's JAX backend and supports Keras {supported} "
            f"only; use the layers in keras_cnn_ref.layers with other versions. Received: "
            f"keras.__version__={keras.__version__!r}"
        )
    from keras.src.backend.jax import nn

    for name, replacement in _routed(nn).items():
        expected = list(inspect.signature(replacement).parameters)
        found = list(inspect.signature(getattr(nn, name)).parameters)
        if found != expected:
            raise RuntimeError(f"Keras's JAX backend changed: {name}{tuple(found)} is not {name}{tuple(expected)}.")
    return nn


def _routed(nn) -> dict:
    """The part of `ROUTED` that this Keras's JAX backend has."""
    return {name: replacement for name, replacement in ROUTED.items() if hasattr(nn, name)}


def enable() -> None:
    """Routes Keras's conv and pooling ops to this project's kernels.

    Calls nest: the ops stay routed until every `enable()` has had its
    `disable()`. Thread-safe.
    """
    global _depth
    with _lock:
        if _depth == 0:
            nn = _backend_nn()
            _originals.update({name: getattr(nn, name) for name in _routed(nn)})
            for name, replacement in _routed(nn).items():
                setattr(nn, name, replacement)
        _depth += 1


def disable() -> None:
    """Undoes one `enable()`; the last one puts Keras's own functions back, the very same objects."""
    global _depth
    with _lock:
        if _depth == 0:
            raise RuntimeError("keras_cnn_ref.plugin.disable() was called more often than enable().")
        _depth -= 1
        if _depth == 0:
            from keras.src.backend.jax import nn

            for name, original in _originals.items():
                setattr(nn, name, original)
            _originals.clear()


def is_enabled() -> bool:
    """Whether Keras's conv and pooling ops run on this project's kernels now."""
    return _depth > 0


@contextlib.contextmanager
def enabled() -> Iterator[None]:
    """`enable()` for the duration of a `with` block; nested blocks are fine."""
    enable()
    try:
        yield
    finally:
        disable()
