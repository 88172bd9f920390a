"""The `keras-cnn-ref` command (also `python -m keras_cnn_ref`).

`keras-cnn-ref check` runs the conformance suite: a Conv2D and a MaxPooling2D
(this project's, or any others given as MODULE:CLASS) against built-in Keras.
It exits with status 0 only when every comparison holds.
"""

from __future__ import annotations

import argparse
import sys


def _check(args: argparse.Namespace) -> int:
    import jax

    import keras_cnn_ref
    from keras_cnn_ref.compat import report, suite
    from keras_cnn_ref.compat.harness import Implementation, keras, load_class

    chosen = suite.select(args.select, args.dtype)
    if args.list:
        print("\n".join(f"{section.name}/{case['id']}" for section, case in chosen))
        return 0
    if not chosen:
        print(f"No case matches --select {args.select!r} --dtype {args.dtype}.", file=sys.stderr)
        return 2
    impl = Implementation(
        load_class(args.conv2d) if args.conv2d else keras_cnn_ref.Conv2D,
        load_class(args.maxpool2d) if args.maxpool2d else keras_cnn_ref.MaxPooling2D,
    )
    results = suite.run_suite(chosen, impl, verbose=1 if sys.stdout.isatty() else 2)
    print(report.format_table(results))
    if failures := report.failures_text(results):
        print(failures)
    print(report.summary_line(results))
    versions = {"keras_cnn_ref": keras_cnn_ref.__version__, "keras": keras.__version__, "jax": jax.__version__,
                "device": str(jax.devices()[0])}
    if args.json:
        report.write_json(args.json, report.to_json(results, impl.describe(), versions))
    if args.junit:
        report.write_junit(args.junit, results)
    return 0 if all(result.ok for result in results) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-cnn-ref", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="compare a Conv2D and a MaxPooling2D with built-in Keras")
    check.add_argument("--select", metavar="PATTERN",
                       help='run the cases whose "section/case" id matches one of these comma-separated '
                            "globs or contains it")
    check.add_argument("--dtype", choices=("float32", "bfloat16", "float16", "all"), default="all",
                       help="run only the cases that compute in this dtype (default: all)")
    check.add_argument("--json", metavar="PATH", help="write every comparison and a summary as JSON")
    check.add_argument("--junit", metavar="PATH", help="write JUnit XML for CI systems")
    check.add_argument("--conv2d", metavar="MODULE:CLASS", help="the Conv2D to check (default: keras_cnn_ref's)")
    check.add_argument("--maxpool2d", metavar="MODULE:CLASS",
                       help="the MaxPooling2D to check (default: keras_cnn_ref's)")
    check.add_argument("--list", action="store_true", help="list the selected cases and exit")
    check.set_defaults(run=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
