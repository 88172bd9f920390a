"""Section "distribution": the layers under `keras.distribution`, on 8 devices, against built-in Keras.

Each case trains one model (the documented MNIST model, a wider conv/pool
model, a residual block) for a few `fit` steps under `DataParallel` or
`ModelParallel` (a 2x4 mesh, conv kernels split on their filters), on real
MNIST images (the bundled sample). It compares the losses, the weights and
the outputs on test images with the same implementation on one device, and
with built-in Keras on the same 8 devices. Then it audits the compiled train
step's collectives against built-in's: any all-gather, all-to-all,
collective-permute or reduce-scatter that built-in's step does not have
fails, as do all-reduce bytes above 1.1x built-in's.

A "plugin" case runs Keras's own layers with `keras_cnn_ref.plugin` enabled;
a "layers" case runs the implementation's Conv2D and MaxPooling2D.

JAX fixes its device count when it starts, so each case runs in a fresh
process (`distribution_worker`) with 8 CPU devices simulated by XLA
(`--xla_force_host_platform_device_count=8`). A "2-processes" case runs as
one job of two processes with 4 devices each, as two hosts would: a
coordinator on the loopback address, collectives over gloo, each process
feeding its half of every batch; every process must pass. The
implementation's classes are passed by name, so they must be importable
there.
"""

from __future__ import annotations

from keras_cnn_ref._devices import run_on_devices, run_on_processes
from keras_cnn_ref.compare import Comparison
from keras_cnn_ref.conformance.harness import Implementation
from keras_cnn_ref.conformance.suite import Section

DEVICES = 8
MODELS = ("documented", "wider", "residual")
PARALLELISMS = ("data", "model")
CASES = [
    {
        "id": f"{model}-{parallelism}-{route}",
        "model": model,
        "parallelism": parallelism,
        "route": route,
        **({"slow": True} if model != "documented" else {}),
    }
    for model in MODELS
    for parallelism in PARALLELISMS
    for route in ("layers", "plugin")
] + [
    {
        "id": f"documented-{parallelism}-{route}-2-processes",
        "model": "documented",
        "parallelism": parallelism,
        "route": route,
        "processes": 2,
        "slow": True,
    }
    for parallelism in PARALLELISMS
    for route in ("layers", "plugin")
]


def run(case: dict, impl: Implementation) -> dict[str, Comparison]:
    classes = {name: spec for name, spec in impl.describe().items() if name in ("conv2d", "maxpool2d")}
    unimportable = {name: spec for name, spec in classes.items() if spec.startswith("__main__:")}
    if unimportable:
        raise ValueError(
            "The distribution section runs each case in a fresh process, so the classes must be "
            f"importable by module. Received: {unimportable}"
        )
    request, worker = {"case": case, "classes": classes}, "keras_cnn_ref.conformance.distribution_worker"
    processes = case.get("processes", 1)
    if processes == 1:
        replies = [run_on_devices(worker, request, DEVICES, timeout_s=900)]
    else:
        replies = run_on_processes(worker, request, processes, DEVICES // processes, timeout_s=900)
    return {name: _every_process(name, replies) for name in replies[0]}


def _every_process(name: str, replies: list[dict]) -> Comparison:
    """Process 0's comparison `name`, or the first process's that failed it."""
    return Comparison(**next((reply[name] for reply in replies if not reply[name]["ok"]), replies[0][name]))


SECTION = Section("distribution", CASES, run)
