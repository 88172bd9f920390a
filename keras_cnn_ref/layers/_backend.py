"""What the layers and the plugin take from Keras's environment: its JAX backend, and its distribution."""

import importlib
import os
import sys

from keras_cnn_ref.kernels import Plan


def import_keras_on_jax():
    """Imports Keras on the JAX backend, or raises an ImportError of one line that says how to fix it.

    When nothing has chosen a backend (Keras not yet imported, KERAS_BACKEND
    unset), this chooses JAX rather than Keras's default, TensorFlow. An
    explicit other choice is never overridden: it gets the error instead.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        keras = importlib.import_module("keras")
    except ImportError as error:
        raise ImportError(
            f"keras_cnn_ref needs Keras's JAX backend, but Keras failed to start its backend ({error}). {how_to_fix()}"
        ) from None
    if keras.backend.backend() != "jax":
        raise ImportError(
            f"keras_cnn_ref needs Keras's JAX backend, but Keras is running on "
            f"{keras.backend.backend()!r}. {how_to_fix()}"
        ) from None
    return keras


def kernel_plan(kernel=None) -> Plan:
    """The kernels' plan under Keras's distribution (`keras.distribution.set_distribution`).

    Under `DataParallel` or `ModelParallel` the batch is sharded over the
    mesh axis named `batch_dim_name`. A `kernel` variable whose layout
    splits its last axis alone (a `LayoutMap` entry such as
    `(None, None, None, "model")`) has its filters sharded over that axis.
    The kernels then run inside each shard. Without a distribution, the
    default plan.
    """
    keras = import_keras_on_jax()
    distribution = keras.distribution.distribution()
    batch_axis = getattr(distribution, "batch_dim_name", None)
    if batch_axis is None:
        return Plan()
    filter_axes = ()
    if isinstance(kernel, keras.Variable):
        *others, last = _layout_axes(distribution.get_variable_layout(kernel), len(kernel.shape))
        if last is not None and not any(others):
            filter_axes = (last,) if isinstance(last, str) else tuple(last)
    return Plan(mesh=distribution.device_mesh.backend_mesh, batch_axes=(batch_axis,), filter_axes=filter_axes)


def _layout_axes(layout, ndim: int) -> tuple:
    """A variable layout's mesh axis per array axis: a Keras `TensorLayout`'s, or (Keras 3.12, once the
    variable exists) a `jax.sharding.NamedSharding`'s, whose spec may leave out trailing None axes."""
    if hasattr(layout, "axes"):
        return tuple(layout.axes)
    return (*layout.spec, *(None,) * (ndim - len(layout.spec)))


def minor_version(version: str) -> tuple[int, int]:
    """`(major, minor)` of a version string.

    >>> minor_version("3.15.1")
    (3, 15)
    """
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def how_to_fix() -> str:
    """What chose the other backend, and the change that chooses JAX instead."""
    chosen = os.environ.get("KERAS_BACKEND", "jax")
    if chosen != "jax":
        return f"KERAS_BACKEND is set to {chosen!r}: set KERAS_BACKEND=jax before Python starts."
    return (
        "Keras was imported before keras_cnn_ref and took its backend from ~/.keras/keras.json: import "
        'keras_cnn_ref first, set KERAS_BACKEND=jax before Python starts, or put "backend": "jax" in '
        "keras.json."
    )
