"""The `keras-cnn-ref` command (also `python -m keras_cnn_ref`).

`keras-cnn-ref check` runs the conformance report on the documented MNIST
model and exits with status 0 only when every comparison holds.
"""

from __future__ import annotations

import argparse
import sys


def _check(args: argparse.Namespace) -> int:
    from keras_cnn_ref import Conv2D, MaxPooling2D
    from keras_cnn_ref.compat.documented_model import check_documented_model
    from keras_cnn_ref.compat.report import format_table, summary_line

    results = check_documented_model(Conv2D, MaxPooling2D)
    print(format_table(results))
    print(summary_line(results))
    return 0 if all(result.ok for result in results) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-cnn-ref", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="compare this project's layers with built-in Keras")
    check.set_defaults(run=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
