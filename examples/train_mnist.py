"""Trains the documented model on MNIST twice, side by side: keras_cnn_ref's layers and built-in Keras's.

    python examples/train_mnist.py --data ../shared/data/mnist.npz --epochs 10
    python examples/train_mnist.py --subset 2000 --epochs 2        # quick; any MNIST source

The same as `keras-cnn-ref train`; `--help` lists the options. Writes
results.json, learning_curves.png and the trained .keras models to --out.
"""

import sys

from keras_cnn_ref.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
