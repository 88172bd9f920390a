"""MNIST for training: from a file you give, from Keras, or from a small bundled sample.

The sample (`SAMPLE_PATH`) holds the first 3,000 training and 1,000 test
images of MNIST, by Y. LeCun, C. Cortes and C. J. C. Burges (CC BY-SA 3.0),
so that the training example runs offline.
"""

from __future__ import annotations

import os
import pathlib
import sys
import zipfile

import numpy as np

ENV_VAR = "KERAS_CNN_REF_MNIST"
SAMPLE_PATH = pathlib.Path(__file__).parent / "_data" / "mnist_sample.npz"
SAMPLE_CREDIT = (
    "the bundled MNIST sample (3,000 training and 1,000 test images; MNIST by Y. LeCun, "
    "C. Cortes and C. J. C. Burges, CC BY-SA 3.0)"
)
KEYS = ("x_train", "y_train", "x_test", "y_test")

Split = tuple[np.ndarray, np.ndarray]


def mnist_file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` is not an MNIST file in Keras's `mnist.npz` layout, or None if it is one.

    >>> mnist_file_problem(__file__)
    "not an .npz file (a zip of NumPy arrays, as numpy.savez writes; Keras's mnist.npz is one)"
    """
    if not os.path.isfile(path):
        return "no such file"
    if not zipfile.is_zipfile(path):
        return "not an .npz file (a zip of NumPy arrays, as numpy.savez writes; Keras's mnist.npz is one)"
    with np.load(path) as data:
        if missing := [key for key in KEYS if key not in data.files]:
            return f"an MNIST file needs the arrays {', '.join(KEYS)} (Keras's mnist.npz layout); it lacks {', '.join(missing)}"
    return None


def load_npz(path: str | os.PathLike) -> tuple[Split, Split]:
    """Reads a file in Keras's `mnist.npz` layout: `(x_train, y_train), (x_test, y_test)`."""
    if problem := mnist_file_problem(path):
        raise ValueError(f"{os.fspath(path)!r} is not an MNIST file: {problem}.")
    with np.load(path) as data:
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])


def load_mnist(path: str | os.PathLike | None = None, download: bool = True) -> tuple[tuple[Split, Split], str]:
    """MNIST and where it came from, trying in turn:

    1. `path`, or the file named by the `KERAS_CNN_REF_MNIST` environment variable;
    2. unless `download` is False, `keras.datasets.mnist.load_data()` (Keras's cache, or a download,
       which can wait minutes on a network that drops the connection);
    3. the bundled sample, with a message on stderr that says so when the download failed.
    """
    path = path or os.environ.get(ENV_VAR)
    if path:
        return load_npz(path), f"file {os.fspath(path)}"
    if not download:
        return load_npz(SAMPLE_PATH), SAMPLE_CREDIT
    from keras_cnn_ref.models import keras

    try:
        return keras.datasets.mnist.load_data(), "keras.datasets.mnist"
    except Exception as error:
        reason = " ".join(str(error).split())[:200]
        print(
            f"keras.datasets.mnist.load_data() failed ({reason}); using {SAMPLE_CREDIT}. "
            f"Give the full dataset with --data PATH or {ENV_VAR}=PATH.",
            file=sys.stderr,
        )
        return load_npz(SAMPLE_PATH), SAMPLE_CREDIT
