"""Trains the documented model twice, side by side: keras_cnn_ref's layers and built-in Keras's.

Both start from the same initial weights and see the same batches: each
epoch's order is drawn once and given to both, epoch by epoch, so their
learning curves and weights can be compared as training goes.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time

import jax
import numpy as np

from keras_cnn_ref.compare import compare
from keras_cnn_ref.datasets import load_mnist
from keras_cnn_ref.layers import Conv2D, MaxPooling2D
from keras_cnn_ref.models import documented_model, keras

SIDES = {"keras_cnn_ref": (Conv2D, MaxPooling2D), "builtin": (keras.layers.Conv2D, keras.layers.MaxPooling2D)}


class WaitForEachStep(keras.callbacks.Callback):
    """Waits for each training step's results before `fit` dispatches the next.

    Needed on CPU devices simulated by XLA (`--xla_force_host_platform_device_count`):
    they share one pool of threads, and when a step starts while the last one
    still runs, the two steps' all-reduces can each hold threads the other
    needs. XLA then aborts after 40 s ("Termination timeout for all reduce").
    Seen with JAX 0.10.2 on 2 cores, with built-in Keras's layers as with
    these. Real accelerators run their collectives on their own streams.
    """

    def on_train_batch_end(self, batch, logs=None):
        jax.block_until_ready(logs)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    subset: int | None = None  # train on the first `subset` training images only
    sides: tuple[str, ...] = tuple(SIDES)
    data: str | None = None  # an mnist.npz file; see keras_cnn_ref.datasets.load_mnist
    out: str = "mnist-run"
    verbose: int = 1  # Keras's progress bar: 1 animated, 2 a line per epoch


def prepare(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 28, 28) images to float32 (N, 28, 28, 1) in [0, 1]; labels to int32."""
    return (images.astype("float32") / 255.0)[..., None], labels.astype("int32")  # (N, 28, 28, 1)


class _TrainingTimer(keras.callbacks.Callback):
    """Seconds each epoch spends training, before its validation starts."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.seconds = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.start


def compiled_models(config: TrainConfig) -> dict:
    keras.utils.set_random_seed(config.seed)
    initial = documented_model(*SIDES["builtin"]).get_weights()
    models = {}
    for side in config.sides:
        model = documented_model(*SIDES[side], name=side)
        model.set_weights(initial)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=True,
        )
        models[side] = model
    return models


def weight_gap(first, second) -> float:
    """The largest normwise relative difference between two models' weights."""
    pairs = zip(first.get_weights(), second.get_weights(), strict=True)
    return max(compare(a, b, tolerance=0.0).max_rel for a, b in pairs)


def train_side_by_side(config: TrainConfig) -> dict:
    """Trains, prints the per-epoch table, and writes results.json, the plot and the model."""
    (train, test), source = load_mnist(config.data)
    x, y = prepare(*train)
    x, y = x[: config.subset], y[: config.subset]
    x_test, y_test = prepare(*test)
    device = jax.devices()[0]
    print(f"data: {source}, {len(x)} training and {len(x_test)} test images; training on {device.platform} ({device})")
    models, rng = compiled_models(config), np.random.default_rng(config.seed)
    history, weight_gaps = {side: [] for side in models}, []
    for epoch in range(config.epochs):
        order = rng.permutation(len(x))
        for side, model in models.items():
            print(f"[{side}] epoch {epoch + 1}/{config.epochs}")
            timer = _TrainingTimer()
            # One epoch per call (the optimizer's state carries over): Keras's progress bar then prints no
            # "Epoch 1/1" header of its own under the one above.
            logs = model.fit(
                x[order],
                y[order],
                batch_size=config.batch_size,
                epochs=1,
                shuffle=False,
                validation_data=(x_test, y_test),
                callbacks=[timer],
                verbose=config.verbose,
            ).history
            history[side].append(
                {
                    "epoch": epoch + 1,
                    "loss": logs["loss"][-1],
                    "accuracy": logs["accuracy"][-1],
                    "test_accuracy": logs["val_accuracy"][-1],
                    "samples_per_second": len(x) / timer.seconds,
                }
            )
        if len(models) == 2:
            weight_gaps.append(weight_gap(*models.values()))
    results = {
        "config": dataclasses.asdict(config),
        "data": source,
        "device": str(device),
        "history": history,
        "weight_gap_after_epoch": weight_gaps,
        "keras": keras.__version__,
        "jax": jax.__version__,
    }
    print(format_history(results))
    _write_outputs(results, models, pathlib.Path(config.out))
    return results


def format_history(results: dict) -> str:
    """The per-epoch table: both sides' loss, accuracy, test accuracy and speed."""
    lines = [f"{'epoch':>5}  {'side':<13}  {'loss':>7}  {'accuracy':>8}  {'test acc':>8}  {'samples/s':>9}  weight gap"]
    for side, epochs in results["history"].items():
        for row in epochs:
            gaps = results["weight_gap_after_epoch"]
            gap = f"{gaps[row['epoch'] - 1]:.1e}" if gaps and side == "builtin" else ""
            lines.append(
                f"{row['epoch']:>5}  {side:<13}  {row['loss']:>7.4f}  {row['accuracy']:>8.4f}  "
                f"{row['test_accuracy']:>8.4f}  {row['samples_per_second']:>9.0f}  {gap}"
            )
    lines.append(
        "(epoch 1's samples/s includes compiling the training step; weight gap: the largest normwise "
        "relative difference between the two sides' weights after that epoch)"
    )
    return "\n".join(lines)


def _write_outputs(results: dict, models: dict, out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    for side, model in models.items():
        model.save(out / f"mnist_{side}.keras")
    print(f"wrote {out / 'results.json'} and {', '.join(f'mnist_{side}.keras' for side in models)}")
    plot_learning_curves(results, out / "learning_curves.png")


def plot_learning_curves(results: dict, path: pathlib.Path) -> None:
    """Loss and accuracy per epoch for each side (needs matplotlib: the `plot` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was drawn: pip install 'keras-cnn-ref[plot]'")
        return
    figure = learning_curves_figure(results)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path}")


def _widen_flat_range(axes, least: float = 0.02) -> None:
    """Spans the y-axis over at least `least` of its values' size: curves that hardly move (one epoch, or
    the two sides' equal losses) would otherwise get ticks a ten-millionth apart."""
    low, high = axes.get_ylim()
    half = max(least * max(abs(low), abs(high)), least) / 2
    if high - low < 2 * half:
        middle = (low + high) / 2
        axes.set_ylim(middle - half, middle + half)


def learning_curves_figure(results: dict):
    """The plot's figure: a marker at every epoch, so that even one epoch shows; whole epochs and plain
    figures on the axes (no offset such as "1e-7+2.2695" when the values barely move)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    # The curves coincide: ours wide and pale underneath, built-in's thin on top.
    styles = {
        "keras_cnn_ref": {"linewidth": 5, "alpha": 0.45, "marker": "o", "markersize": 10},
        "builtin": {"linewidth": 1.2, "marker": "."},
    }
    for side, epochs in results["history"].items():
        numbers = [row["epoch"] for row in epochs]
        loss_axes.plot(numbers, [row["loss"] for row in epochs], label=side, **styles[side])
        accuracy_axes.plot(numbers, [row["accuracy"] for row in epochs], label=f"{side} train", **styles[side])
        accuracy_axes.plot(
            numbers, [row["test_accuracy"] for row in epochs], linestyle="--", label=f"{side} test", **styles[side]
        )
    loss_axes.set(title="training loss", xlabel="epoch")
    accuracy_axes.set(title="accuracy", xlabel="epoch")
    for axes in (loss_axes, accuracy_axes):
        axes.legend()
        axes.grid(alpha=0.3)
        axes.set_xlim(0.5, max(len(epochs) for epochs in results["history"].values()) + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.ticklabel_format(axis="y", useOffset=False)
        _widen_flat_range(axes)
    figure.suptitle(f"Documented model on MNIST ({results['data'].split(' (')[0]})")
    figure.tight_layout()
    return figure
