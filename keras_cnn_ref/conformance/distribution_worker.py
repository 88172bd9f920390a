"""One case of the "distribution" section, in a process that JAX started with 8 devices.

The request is `{"case": ..., "classes": {"conv2d": "module:Class",
"maxpool2d": ...}}` and the reply `{name: Comparison fields}` (`_devices`).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os

import jax
import numpy as np
from jax.experimental import multihost_utils

from keras_cnn_ref import plugin
from keras_cnn_ref._devices import collectives, serve
from keras_cnn_ref.compare import Comparison, agree, compare
from keras_cnn_ref.conformance.distribution import DEVICES
from keras_cnn_ref.conformance.harness import keras, load_class
from keras_cnn_ref.datasets import SAMPLE_PATH, load_npz
from keras_cnn_ref.models import MODELS

TOLERANCE = 1e-4  # normwise, as model_level: a few float32 steps whose sums run in another order
BATCH, STEPS, TEST_IMAGES = 64, 3, 128
ALL_REDUCE_SLACK = 1.1
# The collectives that move activations between devices; all-reduces sum gradients.
MOVES = ("all-gather", "all-to-all", "collective-permute", "reduce-scatter")


def distribution(parallelism: str):
    """DataParallel over all 8 devices, or ModelParallel on a 2x4 mesh with conv kernels split on filters."""
    devices = jax.devices()  # every process's: each feeds its own share of the batch (`local_share`), unsharded
    if parallelism == "data":
        return keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    mesh = keras.distribution.DeviceMesh((2, len(devices) // 2), ["batch", "model"], devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*conv.*kernel"] = (None, None, None, "model")
    return keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch", auto_shard_dataset=False)


@dataclasses.dataclass
class Run:
    losses: list
    weights: list
    outputs: np.ndarray
    step_hlo: str = ""


def train(build, classes: tuple, initial: list, data, distributed: bool, parallelism: str) -> Run:
    """`STEPS` SGD steps of `fit` from `initial` weights, then the outputs on test images.

    With several processes, each feeds its share of every batch (`local_share`), as every host of a job does,
    and the weights are gathered from all of them before the outputs are computed on this process alone.
    """
    (x, y), x_test = data
    shares = jax.process_count() if distributed else 1
    keras.distribution.set_distribution(distribution(parallelism) if distributed else None)
    try:
        model = build(*classes)
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
        losses = []
        record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda _, logs: losses.append(float(logs["loss"])))
        x_local, y_local = local_share(x, shares), local_share(y, shares)
        model.fit(x_local, y_local, batch_size=BATCH // shares, epochs=1, shuffle=False, verbose=0, callbacks=[record])
        weights = (
            model.get_weights()
            if shares == 1
            else [  # every process's shards, whole
                np.asarray(multihost_utils.process_allgather(variable.value, tiled=True)) for variable in model.weights
            ]
        )
        step_hlo = (
            compiled_train_step(model, x_local[: BATCH // shares], y_local[: BATCH // shares]) if distributed else ""
        )
    finally:
        keras.distribution.set_distribution(None)
    local = build(*classes)  # the trained weights, on this process's first device
    local.set_weights(weights)
    return Run(losses, weights, local.predict(x_test, batch_size=BATCH, verbose=0), step_hlo)


def local_share(array: np.ndarray, shares: int, batch: int = BATCH) -> np.ndarray:
    """The rows this process feeds: its `1 / shares` of each batch, in order.

    >>> local_share(np.arange(8), 2, batch=4)  # process 0: rows 0-1 of the first batch, 4-5 of the second
    array([0, 1, 4, 5])
    """
    if shares == 1:
        return array
    batches = array.reshape(-1, shares, batch // shares, *array.shape[1:])  # (batches, shares, rows, ...)
    return batches[:, jax.process_index()].reshape(-1, *array.shape[1:])


def compiled_train_step(model, x, y) -> str:
    """The optimized HLO of the step `fit` runs, compiled as Keras's JAX trainer compiles it.

    Keras's trainer has no public hook for it: this uses its
    `_get_jax_state`, `_get_state_sharding_spec` and `_distribute_data`,
    present in every Keras version in range.
    """
    from keras.src.backend.jax.trainer import _distribute_data

    state = model._get_jax_state(
        trainable_variables=True, non_trainable_variables=True, optimizer_variables=True, metrics_variables=True
    )
    step = jax.jit(model.train_step, out_shardings=(None, model._get_state_sharding_spec()))
    return step.lower(tuple(state), _distribute_data((x, y))).compile().as_text()


def audit(tested_hlo: str, builtin_hlo: str) -> dict[str, Comparison]:
    tested, builtin = collectives(tested_hlo), collectives(builtin_hlo)
    extra = collections.Counter(op for kind in MOVES for op in tested[kind])
    extra.subtract(op for kind in MOVES for op in builtin[kind])
    moved = [f"{shape} ({size:,} B)" for (shape, size), count in extra.items() for _ in range(max(count, 0))]
    summary = {
        side: {kind: _ops_and_bytes(ops) for kind, ops in found.items() if ops}
        for side, found in (("tested", tested), ("builtin", builtin))
    }
    reduced = {
        side: sum(size for _, size in found["all-reduce"]) for side, found in (("tested", tested), ("builtin", builtin))
    }
    return {
        "moves built-in does not make": Comparison(not moved, detail=f"extra: {moved or 'none'} | {summary}"),
        "all-reduce bytes": Comparison(
            reduced["tested"] <= ALL_REDUCE_SLACK * reduced["builtin"],
            detail=f"tested={reduced['tested']:,} | builtin={reduced['builtin']:,} (at most {ALL_REDUCE_SLACK}x)",
        ),
    }


def _ops_and_bytes(ops: list[tuple[str, int]]) -> str:
    return f"{len(ops)} op{'s' * (len(ops) != 1)}, {sum(size for _, size in ops):,} B"


def _worst(tested: list, expected: list) -> Comparison:
    comparisons = [compare(a, b, TOLERANCE) for a, b in zip(tested, expected, strict=True)]
    return max(comparisons, key=lambda c: (not c.ok, c.max_rel))


def run_case(case: dict, classes: dict[str, type]) -> dict[str, Comparison]:
    (x_train, y_train), (x_test, _) = load_npz(SAMPLE_PATH)
    x = x_train[: BATCH * STEPS, ..., None].astype("float32") / 255
    data = ((x, y_train[: BATCH * STEPS]), x_test[:TEST_IMAGES, ..., None].astype("float32") / 255)
    build, parallelism = MODELS[case["model"]], case["parallelism"]
    builtin_classes = (keras.layers.Conv2D, keras.layers.MaxPooling2D)
    keras.utils.set_random_seed(0)
    initial = build(*builtin_classes).get_weights()
    plugged = case["route"] == "plugin"
    tested_classes = builtin_classes if plugged else (classes["conv2d"], classes["maxpool2d"])
    builtin = train(build, builtin_classes, initial, data, True, parallelism)
    with plugin.enabled() if plugged else contextlib.nullcontext():
        one_device = train(build, tested_classes, initial, data, False, parallelism)
        tested = train(build, tested_classes, initial, data, True, parallelism)
    return {
        "losses vs one device": compare(tested.losses, one_device.losses, TOLERANCE),
        "weights vs one device": _worst(tested.weights, one_device.weights),
        "outputs vs one device": compare(tested.outputs, one_device.outputs, TOLERANCE),
        "losses vs builtin": compare(tested.losses, builtin.losses, TOLERANCE),
        "weights vs builtin": _worst(tested.weights, builtin.weights),
        "outputs vs builtin": compare(tested.outputs, builtin.outputs, TOLERANCE),
        "steps": agree(tested=len(tested.losses), builtin=len(builtin.losses), expected=STEPS),
        **audit(tested.step_hlo, builtin.step_hlo),
    }


def answer(request: dict) -> dict:
    classes = {name: load_class(spec) for name, spec in request["classes"].items()}
    comparisons = run_case(request["case"], classes)
    return {name: dataclasses.asdict(comparison) for name, comparison in comparisons.items()}


if __name__ == "__main__":
    processes = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1"))
    if processes > 1:  # one job of several processes, each with its share of the 8 devices (`run_on_processes`)
        keras.distribution.initialize()
    serve(answer, devices=DEVICES // processes)
