"""Keras's own convolution and pooling tests, run on the plugin with XLA's window ops refused.

    python tools/keras_own_tests.py [pytest arguments]

runs, from the installed Keras, `layers/convolutional/`, `layers/pooling/`
and the conv, pool, depthwise, separable and conv_transpose tests of
`ops/nn_test.py`, with `keras_cnn_ref.plugin` enabled for the whole session
and XLA's convolution, `conv_transpose` and `reduce_window` raising when
traced (`tests/xla_refused.py`). A test that reaches XLA's window ops fails.
The exit status is pytest's.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ("src/layers/convolutional", "src/layers/pooling", "src/ops/nn_test.py")
SELECTED = "conv or pool or depthwise or separable"  # nn_test.py's other tests are not ours; the layers' all are


def command(*extra: str) -> list[str]:
    """The pytest command line, run from outside the project so that Keras's files keep their own settings."""
    keras_dir = pathlib.Path(importlib.util.find_spec("keras").submodule_search_locations[0])
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        os.devnull,
        "--rootdir",
        str(keras_dir),
        "--confcutdir",  # a virtual environment inside this project must not load this project's conftest.py
        str(keras_dir),
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.xla_refused",
        "-k",
        SELECTED,
        *(str(keras_dir / path) for path in TESTS),
        *extra,
    ]


def main() -> int:
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
    }
    return subprocess.run(command(*sys.argv[1:]), env=env, cwd=ROOT.parent).returncode


if __name__ == "__main__":
    sys.exit(main())
