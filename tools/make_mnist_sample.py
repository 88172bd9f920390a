"""Writes the MNIST sample bundled in the package (keras_cnn_ref/_data/mnist_sample.npz).

    python tools/make_mnist_sample.py ../shared/data/mnist.npz

The first 3,000 training and 1,000 test images of MNIST (Y. LeCun, C. Cortes
and C. J. C. Burges, CC BY-SA 3.0), in Keras's mnist.npz layout.
"""

import pathlib
import sys

import numpy as np

TRAIN, TEST = 3000, 1000


def main(source: str) -> None:
    mnist = np.load(source)
    target = pathlib.Path(__file__).resolve().parents[1] / "keras_cnn_ref" / "_data" / "mnist_sample.npz"
    np.savez_compressed(
        target,
        x_train=mnist["x_train"][:TRAIN],
        y_train=mnist["y_train"][:TRAIN],
        x_test=mnist["x_test"][:TEST],
        y_test=mnist["y_test"][:TEST],
    )
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
