"""Scaling: `model.fit` throughput under `keras.distribution.DataParallel` on 8 devices against 1 device.

Ours and built-in each train on 1 device and on 8, the contenders
interleaved epoch by epoch in one process that JAX started with 8 CPU
devices (`_devices`). Each ratio is built-in's time over ours on the same
devices and batches; each scaling figure is an 8-device ratio over the
1-device one: 1 means the layers keep their single-device standing when
the batch is sharded. Two figures, since they answer two questions:

- `scaling`: the same global batch on 8 devices, so each device takes an
  eighth of it (strong scaling). Each device's layers then run at another
  batch size than on 1 device, and so does built-in's: its max-pool
  backward pass costs 16.7x as much at 128 images as at 16 (cache effects),
  which moves its 1-device ratio more than sharding does.
- `scaling_per_device`: 8 times the batch on 8 devices, so each device
  takes the 1-device batch (weak scaling): the same shapes per device, and
  what is left is what sharding costs each side.

The 8 simulated devices share the machine's cores, so on a CPU with fewer
cores than devices this measures what sharding costs, not a speedup.
"""

from __future__ import annotations

import contextlib

import numpy as np

from keras_cnn_ref._devices import run_on_devices

DEVICES = 8
MODELS = ("documented", "wider")


def scaling_throughput(batch_size: int, samples: int, rounds: int, data: str | None, download: bool) -> list[dict]:
    """Each of `MODELS`' scaling figure, measured in a fresh 8-device process."""
    request = {"batch_size": batch_size, "samples": samples, "rounds": rounds, "data": data, "download": download}
    return run_on_devices("keras_cnn_ref.benchmark.scaling", request, DEVICES, timeout_s=3600)["results"]


def measure(request: dict) -> dict:
    """The 8-device process's side: every model's interleaved epochs, on 1 device and on all."""
    import jax

    from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
    from keras_cnn_ref.benchmark.training import SIDE_NAMES
    from keras_cnn_ref.datasets import load_mnist
    from keras_cnn_ref.models import MODELS as BUILDERS
    from keras_cnn_ref.models import keras
    from keras_cnn_ref.training import SIDES, prepare

    (train, _), source = load_mnist(request["data"], request["download"])
    x, y = (array[: request["samples"]] for array in prepare(*train))
    batch, results = request["batch_size"], []
    parallel = keras.distribution.DataParallel(devices=jax.devices())
    runs = {
        "x1": (contextlib.nullcontext, batch),
        "x8": (parallel.scope, batch),
        "x8 per device": (parallel.scope, batch * DEVICES),
    }
    for name in MODELS:
        contenders = {}
        for run, (scope, batch_size) in runs.items():
            for side, classes in SIDES.items():
                with scope():
                    model = BUILDERS[name](*classes)
                    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
                contenders[f"{SIDE_NAMES[side]} {run}"] = _fit_epoch(model, scope, x, y, batch_size)
        samples = interleaved_samples(contenders, request["rounds"])  # each pair back to back
        speedups = {run: paired_speedup(samples[f"builtin {run}"], samples[f"ours {run}"]) for run in runs}
        results.append(
            {
                "model": name,
                "batch_size": batch,
                "samples": len(x),
                "data": source,
                "samples_per_s": {k: len(x) / s for k, s in medians(samples).items()},
                "speedup": speedups,
                "scaling": speedups["x8"] / speedups["x1"],
                "scaling_per_device": speedups["x8 per device"] / speedups["x1"],
            }
        )
    return {"results": results}


def _fit_epoch(model, scope, x: np.ndarray, y: np.ndarray, batch_size: int):
    """One epoch in `scope`, each step waited for (`WaitForEachStep`), on 1 device as on 8: both pay the wait."""
    from keras_cnn_ref.training import WaitForEachStep

    def epoch() -> None:
        with scope():
            model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[WaitForEachStep()])

    return epoch


if __name__ == "__main__":
    from keras_cnn_ref._devices import serve

    serve(measure, DEVICES)
