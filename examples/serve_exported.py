"""Serves the program `examples/export_mnist.py` wrote, with JAX alone: neither keras_cnn_ref nor Keras is imported.

    python examples/serve_exported.py DIR

calls it at several batch sizes, one program for all of them (its batch is
symbolic), and checks each against built-in Keras's predictions that the
exporting process saved beside it.
"""

import pathlib
import sys

import numpy as np
from jax import export

TOLERANCE = 1e-5  # normwise, float32: the conformance suite's


def main(folder: pathlib.Path) -> None:
    exported = export.deserialize(bytearray((folder / "mnist.jax-export").read_bytes()))
    reference = np.load(folder / "reference.npz")
    for batch in (1, 7, 64):
        scores = np.asarray(exported.call(reference["images"][:batch]))  # (batch, 10)
        builtin = reference["builtin"][:batch]
        gap = np.abs(scores - builtin).max() / np.abs(builtin).max()
        print(f"batch {batch:2}: scores {scores.shape}, largest difference from built-in Keras {gap:.1e}")
        assert gap <= TOLERANCE, gap
    assert not {"keras", "keras_cnn_ref"} & set(sys.modules), "the server imported Keras"


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
