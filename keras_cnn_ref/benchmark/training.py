"""The documented model's training: throughput in `model.fit`, compile time and
memory of its jitted training step, and plain PyTorch as the peer."""

from __future__ import annotations

import time

import jax
import numpy as np

from keras_cnn_ref.benchmark.timing import interleaved_samples, medians, paired_speedup
from keras_cnn_ref.datasets import load_mnist
from keras_cnn_ref.models import documented_model, keras
from keras_cnn_ref.training import SIDES, TrainConfig, compiled_models, prepare

SIDE_NAMES = {"keras_cnn_ref": "ours", "builtin": "builtin"}


def fit_throughput(batch_size: int, samples: int, rounds: int, data: str | None, download: bool = True) -> dict:
    """Samples per second of one `model.fit` epoch over `samples` MNIST images:
    ours, built-in and (when installed) PyTorch, interleaved epoch by epoch.
    `data` and `download` choose the images as `datasets.load_mnist` does."""
    (train, _), source = load_mnist(data, download)
    x, y = (array[:samples] for array in prepare(*train))
    contenders = {}
    for side, model in compiled_models(TrainConfig(batch_size=batch_size)).items():
        contenders[SIDE_NAMES[side]] = _fit_epoch(model, x, y, batch_size)
    if (torch_epoch := torch_trainer(x, y, batch_size)) is not None:
        contenders["pytorch"] = torch_epoch
    samples = interleaved_samples(contenders, rounds)  # ours and built-in run back to back
    throughput = {name: len(x) / seconds for name, seconds in medians(samples).items()}
    return {
        "batch_size": batch_size,
        "samples": len(x),
        "data": source,
        "samples_per_s": throughput,
        "speedup": paired_speedup(samples["builtin"], samples["ours"]),
    }


def _fit_epoch(model, x: np.ndarray, y: np.ndarray, batch_size: int):
    def epoch() -> None:
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    return epoch


def torch_trainer(x: np.ndarray, y: np.ndarray, batch_size: int):
    """One epoch of the documented model in plain PyTorch (eager), or None without torch.

    It runs where JAX runs: on the GPU when JAX's default backend is one and
    torch sees CUDA, else on the CPU. The data moves to the device once.
    """
    try:
        import torch
    except ImportError:
        return None
    device = "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(144, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(device)  # (N, 1, 28, 28)
    labels = torch.from_numpy(y).long().to(device)

    def epoch() -> None:
        for start in range(0, len(images), batch_size):
            optimizer.zero_grad()
            logits = model(images[start : start + batch_size])
            nn.functional.cross_entropy(logits, labels[start : start + batch_size]).backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()  # the epoch's kernels have run, as Keras's fit returns after them

    return epoch


def train_step_costs(batch_size: int, rounds: int) -> dict:
    """Compile seconds (median of fresh traces) and XLA's memory figures of one
    jitted Adam training step of the documented model, for each side.

    The two sides compile back to back each round, and the ratio is the
    median of the rounds' ratios, as the bench's other ratios are."""
    x = np.zeros((batch_size, 28, 28, 1), np.float32)
    y = np.zeros((batch_size,), np.int32)
    compiles = {SIDE_NAMES[side]: _step_compiler(*classes, x, y) for side, classes in SIDES.items()}
    seconds, peak_bytes = {name: [] for name in compiles}, {}
    for _ in range(rounds):
        for name, compile_step in compiles.items():
            jax.clear_caches()  # a fresh trace and compile every time, not a cache hit
            start = time.perf_counter()
            compiled = compile_step()
            seconds[name].append(time.perf_counter() - start)
            memory = compiled.memory_analysis()
            peak_bytes[name] = (
                memory.temp_size_in_bytes
                + memory.argument_size_in_bytes
                + memory.output_size_in_bytes
                - memory.alias_size_in_bytes
            )
    result = {
        name: {"compile_s": median_s, "peak_bytes": peak_bytes[name]} for name, median_s in medians(seconds).items()
    }
    result["compile_ratio"] = paired_speedup(seconds["ours"], seconds["builtin"])  # ours / built-in
    result["memory_ratio"] = result["ours"]["peak_bytes"] / result["builtin"]["peak_bytes"]
    return result


def _step_compiler(conv2d: type, maxpool2d: type, x: np.ndarray, y: np.ndarray):
    model = documented_model(conv2d, maxpool2d)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    )

    def step(trainable, non_trainable, optimizer_state, images, labels):
        def loss(weights):
            probabilities, _ = model.stateless_call(weights, non_trainable, images, training=True)
            return keras.losses.sparse_categorical_crossentropy(labels, probabilities).mean()

        value, grads = jax.value_and_grad(loss)(trainable)
        trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, grads, trainable)
        return value, trainable, optimizer_state

    return lambda: jax.jit(step).lower(*state, x, y).compile()
