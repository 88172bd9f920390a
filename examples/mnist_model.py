"""Builds the documented MNIST model with keras_cnn_ref's layers, beside built-in Keras's.

    python examples/mnist_model.py

Prints both model summaries side by side: the same layers, output shapes and
parameter counts (40, 296, 1168; 6474 in all).
"""

import itertools

import keras_cnn_ref  # first: selects Keras's JAX backend when nothing else has chosen one
from keras_cnn_ref.models import documented_model, keras


def summary_lines(model) -> list[str]:
    lines = []
    model.summary(line_length=66, print_fn=lambda text, **_: lines.extend(text.splitlines()))
    return lines


def main() -> None:
    ours = documented_model(keras_cnn_ref.Conv2D, keras_cnn_ref.MaxPooling2D, name="keras_cnn_ref")
    builtin = documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D, name="builtin_keras")
    columns = itertools.zip_longest(summary_lines(ours), summary_lines(builtin), fillvalue="")
    print("\n".join(f"{left:<68}{right}" for left, right in columns))
    print(f"\nparameters: keras_cnn_ref {ours.count_params()}, built-in {builtin.count_params()}")


if __name__ == "__main__":
    main()
