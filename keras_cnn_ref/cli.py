"""The `keras-cnn-ref` command (also `python -m keras_cnn_ref`).

`keras-cnn-ref check` runs the conformance suite: the convolution and pooling
layers (this project's, or any others given as MODULE:CLASS) against built-in
Keras, and the backend plugin on whole models.
It exits with status 0 only when every comparison holds.
`keras-cnn-ref train` trains the documented model on MNIST, side by side with
built-in Keras. `keras-cnn-ref bench` times both, interleaved, and reports
the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys

from keras_cnn_ref._registry import LAYERS
from keras_cnn_ref.compare import TOLERANCES


def _progress_verbosity() -> int:
    """Keras's progress bar animated on a terminal; one line at the end in logs."""
    return 1 if sys.stdout.isatty() else 2


class UsageError(Exception):
    """A mistake in the command line, found before any work is done: one line on stderr, and status 2."""


def unwritable(path: str | None, folder: bool = False) -> str | None:
    """Why `path` cannot be written (a file, or with `folder` a folder made with its parents), or None.

    >>> unwritable("/no/such/folder/report.json")
    'no folder /no/such/folder to write report.json in'
    """
    if path is None:
        return None
    target = pathlib.Path(path)
    if target.is_dir() != folder and target.exists():
        return f"{path} is {'a file' if folder else 'a folder'}"
    parent = target.parent
    while folder and not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"no folder {parent} to write {target.name} in"
    if not os.access(parent, os.W_OK):
        return f"no permission to write in {parent}"
    return None


def _check_paths(args: argparse.Namespace, files: tuple[str, ...] = (), folders: tuple[str, ...] = ()) -> None:
    """Raises UsageError for the first output path that cannot be written, or a `--data` file that is not there."""
    if data := getattr(args, "data", None):
        from keras_cnn_ref.datasets import mnist_file_problem

        if problem := mnist_file_problem(data):
            raise UsageError(f"--data {data}: {problem}.")
    for name, folder in [(name, False) for name in files] + [(name, True) for name in folders]:
        if reason := unwritable(getattr(args, name), folder):
            raise UsageError(f"--{name} {getattr(args, name)}: {reason}.")


def _check(args: argparse.Namespace) -> int:
    import jax

    import keras_cnn_ref
    from keras_cnn_ref import kernels
    from keras_cnn_ref.conformance import report, suite
    from keras_cnn_ref.conformance.harness import Implementation, given_class, keras

    chosen = suite.select(args.select, args.dtype)
    if not chosen:
        raise UsageError(_no_match(args.select, args.dtype))
    if args.list:
        print("\n".join(f"{section.name}/{case['id']}" for section, case in chosen))
        return 0
    _check_paths(args, files=("json", "junit"))
    given = {name: spec for name in LAYERS if (spec := getattr(args, name))}
    classes = {}
    for name, spec in given.items():
        try:
            classes[name] = given_class(name, spec)
        except (ValueError, TypeError, ImportError) as error:
            raise UsageError(f"--{name} {spec}: {error}.") from None
    impl = Implementation(**classes)
    versions = {
        "plan": kernels.get_policy().value,
        "keras_cnn_ref": keras_cnn_ref.__version__,
        "keras": keras.__version__,
        "jax": jax.__version__,
        "device": str(jax.devices()[0]),
    }
    print(report.header(given, versions), flush=True)
    results = suite.run_suite(chosen, impl, verbose=_progress_verbosity())
    print(report.format_table(results))
    if failures := report.failures_text(results, args.all_failures):
        print(failures)
    print(report.summary_line(results, versions["plan"]))
    if args.json:
        report.write_json(args.json, report.to_json(results, impl.describe(), versions))
    if args.junit:
        report.write_junit(args.junit, results)
    _said_written(args.json, args.junit)
    return 0 if all(result.ok for result in results) else 1


def _no_match(select: str, dtype: str) -> str:
    """Why no case matched: a layer this Keras lacks, or a pattern that is part of a segment (with the glob that
    would match), or nothing at all."""
    from keras_cnn_ref.conformance import suite
    from keras_cnn_ref.conformance.harness import missing_layer

    if select and (keys := suite.lacking(select)):
        return f"no case of --select {select!r} runs here: {'; '.join(map(missing_layer, keys))}."
    message = f"no case matches --select {select!r} --dtype {dtype}"
    for pattern in filter(None, (select or "").split(",")):
        for wider in (f"{pattern}-*", f"{pattern}*"):
            if found := len(suite.select(wider, dtype)):
                return f"{message} (a pattern matches whole segments of section/case ids; {wider!r} matches {found})."
    return f"{message}."


def _said_written(*paths: str | None) -> None:
    if written := [path for path in paths if path]:
        print(f"wrote {', '.join(written)}")


def _train(args: argparse.Namespace) -> int:
    from keras_cnn_ref.training import SIDES, TrainConfig, train_side_by_side

    sides = tuple(SIDES) if args.sides == "both" else tuple(dict.fromkeys(args.sides.split(",")))
    if any(side not in SIDES for side in sides):
        raise UsageError(f"--sides takes {', '.join(SIDES)} or both, comma-separated. Received: {args.sides!r}")
    _check_paths(args, folders=("out",))
    train_side_by_side(
        TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            subset=args.subset,
            sides=sides,
            data=args.data,
            out=args.out,
            verbose=_progress_verbosity(),
        )
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from keras_cnn_ref.benchmark import report, run_benchmark
    from keras_cnn_ref.benchmark.cases import case_matches, selected_cases

    _check_paths(args, files=("json", "markdown", "plot"))
    if args.select and not any(case_matches(case["id"], args.select) for case in selected_cases(args.quick)):
        ids = ", ".join(dict.fromkeys(case["id"] for case in selected_cases(args.quick)))
        raise UsageError(
            f"no layer case{' of --quick' * args.quick} matches --select {args.select!r}: the ids are {ids}."
        )
    results = run_benchmark(quick=args.quick, data=args.data, select=args.select)
    markdown = report.to_markdown(results)
    print(markdown)
    if args.json:
        report.write_json(args.json, results)
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write(markdown)
    if args.plot:
        report.plot(args.plot, results)
    _said_written(args.json, args.markdown, args.plot)
    return 0


def _add_bench(commands) -> None:
    bench = commands.add_parser(
        "bench",
        help="time ours against built-in Keras (and PyTorch, when installed)",
        description="Time keras_cnn_ref against built-in Keras in one process, interleaved, after a warm-up: "
        "model.fit, the training step's compile time and memory, and each layer case's passes.",
    )
    typical = json.loads(TYPICAL_TIMES.read_text())
    bench.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer, smaller cases, on the bundled MNIST sample unless --data: {_minutes(typical['bench_quick_seconds'])}"
        f" on 2 CPU cores (the full run: {_minutes(typical['bench_full_seconds'])})",
    )
    bench.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    bench.add_argument("--markdown", metavar="PATH", help="write the tables as markdown")
    bench.add_argument("--plot", metavar="PATH", help="write a PNG chart of the per-layer speedups")
    bench.add_argument(
        "--data",
        metavar="PATH",
        help="an mnist.npz file for the training figures (default: $KERAS_CNN_REF_MNIST, then "
        "keras.datasets.mnist but with --quick, then the bundled sample)",
    )
    bench.add_argument(
        "--select",
        metavar="GLOBS",
        help="only the layer cases whose id one of these comma-separated globs matches whole, e.g. '1d-*,head*' "
        "(no training figures then)",
    )
    _add_plan(bench)
    bench.set_defaults(run=_bench)


def _add_train(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train the documented model on MNIST, beside built-in Keras",
        description="Train the documented model on MNIST with keras_cnn_ref's layers and with built-in Keras's, "
        "from the same initial weights and batches, and write the learning curves and both models.",
    )
    train.add_argument("--epochs", type=_positive, default=10, help="passes over the training set (default: 10)")
    train.add_argument("--batch-size", type=_positive, default=128, help="images a step (default: 128)")
    train.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: 0.001)")
    train.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the batch order (default: 0)")
    train.add_argument(
        "--subset", type=_positive, metavar="N", help="train on the first N training images only (default: all)"
    )
    train.add_argument(
        "--sides",
        default="both",
        help="which layers to train: keras_cnn_ref, builtin, or both (the default; the same as keras_cnn_ref,builtin)",
    )
    train.add_argument(
        "--data",
        metavar="PATH",
        help="an mnist.npz file (default: $KERAS_CNN_REF_MNIST, then keras.datasets.mnist, then the bundled sample)",
    )
    train.add_argument(
        "--out",
        default="mnist-run",
        metavar="DIR",
        help="where results.json, learning_curves.png and the .keras models go (default: mnist-run)",
    )
    _add_plan(train)
    train.set_defaults(run=_train)


def _add_plan(command: argparse.ArgumentParser) -> None:
    from keras_cnn_ref.kernels import Algorithm, Policy

    command.add_argument(
        "--plan",
        choices=[member.value for member in (*Policy, *Algorithm)],
        default=None,
        help="the policy keras_cnn_ref's kernels run under: exact (the default; $KERAS_CNN_REF_POLICY sets "
        "another), fast (minimal filtering where its measured bound holds), or one algorithm by name",
    )


def _use_plan(args: argparse.Namespace) -> None:
    """Sets `--plan` for this process and the processes it starts (the runner's workers)."""
    if getattr(args, "plan", None):
        from keras_cnn_ref import kernels

        os.environ["KERAS_CNN_REF_POLICY"] = args.plan
        kernels.set_policy(args.plan)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and status 2) instead of the usage text and then the error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


TYPICAL_TIMES = pathlib.Path(__file__).parent / "_data" / "typical_times.json"  # tools/typical_times.py


def _minutes(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def _check_epilog() -> str:
    """The sections with their cases and typical times, how selections match, and the exit statuses."""
    typical = json.loads(TYPICAL_TIMES.read_text())
    sections = typical["sections"]
    rows = [(name, f"{s['cases']} cases", _minutes(s["seconds"])) for name, s in sections.items()]
    total = sum(s["seconds"] for s in sections.values())
    rows.append(("all (a bare check)", f"{sum(s['cases'] for s in sections.values())} cases", _minutes(total)))
    table = "\n".join(f"  {name:20s}{cases:>11s}   {time}" for name, cases, time in rows)
    return (
        f"sections (typical times measured on {typical['measured_on']}):\n{table}\n\n"
        'selections: --select takes comma-separated globs over "section/case" ids; each matches a whole id or\n'
        'a whole section: "layer_grid", "layer_grid/conv2d-*" (not conv2dtranspose-*), "*/*-float16".\n'
        "--list prints the ids a selection takes.\n\n"
        "exit status: 0 when every comparison holds, 1 when one fails, 2 for a usage error (one line on\n"
        "stderr, before any case runs). A closed pipe (| head) ends the output quietly."
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="keras-cnn-ref", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,train,bench}")
    check = commands.add_parser(
        "check",
        help="compare conv and pooling layers, and the plugin, with built-in Keras",
        description="Compare conv and pooling layers (keras_cnn_ref's, or yours as MODULE:CLASS) and the backend "
        "plugin with built-in Keras, case by case: shapes, parameters, outputs, gradients, saved files, errors.",
        epilog=_check_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--select",
        metavar="PATTERN",
        help='run the cases whose "section/case" id, or whose section, matches one of these comma-separated globs',
    )
    check.add_argument(
        "--dtype",
        choices=(*TOLERANCES, "all"),
        default="all",
        help="run only the cases that compute in this dtype (default: all)",
    )
    check.add_argument("--json", metavar="PATH", help="write every comparison and a summary as JSON")
    check.add_argument("--junit", metavar="PATH", help="write JUnit XML for CI systems")
    for key, entry in LAYERS.items():
        check.add_argument(f"--{key}", metavar="MODULE:CLASS", help=f"the {entry.class_name} to check (default: ours)")
    check.add_argument("--list", action="store_true", help="list the selected cases and exit")
    check.add_argument(
        "--all-failures",
        action="store_true",
        help="list every failing comparison, also of the cases that fail after an earlier case they follow (a "
        "model's later layers), which are otherwise one line under it",
    )
    _add_plan(check)
    check.set_defaults(run=_check)
    _add_train(commands)
    _add_bench(commands)
    return parser


def _positive(text: str) -> int:
    """argparse's type for counts that must be 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more. Received: {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; a usage error is one line on stderr and status 2, never a traceback."""
    args = _parser().parse_args(argv)
    if os.getcwd() not in sys.path:  # MODULE:CLASS specs resolve from the current folder first, as `python -m` does
        sys.path.insert(0, os.getcwd())
    try:
        _use_plan(args)
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except UsageError as error:
        print(f"keras-cnn-ref {args.command}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`| head`): end quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 128 + signal.SIGPIPE  # what a shell reports for a tool SIGPIPE ended


if __name__ == "__main__":
    sys.exit(main())
