"""The README's and docs' generated tables, rendered from the registry and from measured data.

    python tools/docs_tables.py           # rewrite every generated region in place
    python tools/docs_tables.py --check   # exit 1, naming each region that differs from its data

A region is the text between `<!-- generated: NAME -->` and `<!-- end
generated -->` in README.md or a page under docs/. `TABLES` maps each NAME
to what renders it: the layer registry, or a JSON file a tool wrote
(`keras-cnn-ref bench --json`, `tools/first_call.py`, `tools/roundoff.py`, `tools/minimal_filtering_bounds.py`, `tools/hard_edges.py`,
`keras-cnn-ref train`'s results.json, `keras-cnn-ref check --json`). Prose
cites these figures only through the tables, so a re-measured run changes
them everywhere at once, and `tests/test_docs.py` fails while a table and
its data disagree.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import pathlib
import re
import statistics
import sys
from collections.abc import Callable

from keras_cnn_ref.benchmark.report import STAGES

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data"
REGION = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _json(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def layer_table() -> str:
    """One row per kind of layer: its classes, its kernel, its runner flags, the first Keras that has it."""
    from keras_cnn_ref._registry import LAYERS

    rows = ["| layers | kernel | runner flags | from Keras |", "|---|---|---|---|"]
    for kind, group in itertools.groupby(LAYERS.items(), key=lambda item: item[1].kind):
        group = list(group)
        kernel = f"{kind}_conv" if kind in ("depthwise", "separable") else kind
        rows.append(
            f"| {', '.join(f'`{entry.class_name}`' for _, entry in group)} | `{kernel}` | "
            f"{', '.join(f'`--{key}`' for key, _ in group)} | {'.'.join(map(str, group[0][1].since))} |"
        )
    return "\n".join(rows) + "\n"


def benchmark(path: pathlib.Path) -> Callable[[], str]:
    def render() -> str:
        from keras_cnn_ref.benchmark.report import to_markdown

        return to_markdown(_json(path))

    return render


def benchmark_pair(exact: pathlib.Path, fast: pathlib.Path) -> Callable[[], str]:
    """Issue 28's targets read off two full runs, one under `exact` and one under `fast`, and every figure below
    1.0x in either or whose algorithms differ between them."""

    def render() -> str:
        runs = {"exact": _json(exact), "fast": _json(fast)}
        figures = {
            name: {(case["id"], case["dtype"], stage): case for case in run["layers"] for stage in STAGES}
            for name, run in runs.items()
        }
        lines = [
            "| target | wanted | "
            + " | ".join(f"`{name}` run ({run['environment']['date']})" for name, run in runs.items())
            + " |",
            "|---|---|---:|---:|",
        ]
        for target, wanted, measure in _TARGETS:
            lines.append(f"| {target} | {wanted} | " + " | ".join(measure(run) for run in runs.values()) + " |")
        lines += ["", "| figure | `exact` | `fast` | `exact` runs | `fast` runs |", "|---|---:|---:|---|---|"]
        for key, case in figures["exact"].items():
            other = figures["fast"].get(key)
            if other is None:
                continue
            speedups = (case[key[2]]["speedup"], other[key[2]]["speedup"])
            algorithms = (", ".join(case.get("algorithms", [])) or "-", ", ".join(other.get("algorithms", [])) or "-")
            if min(speedups) < 0.995 or algorithms[0] != algorithms[1]:
                figure = f"{key[0]} {key[1]} {key[2].replace('forward_backward', 'fwd+bwd')}"
                lines.append(
                    f"| {figure} | {speedups[0]:.2f}x | {speedups[1]:.2f}x | {algorithms[0]} | {algorithms[1]} |"
                )
        return "\n".join(lines) + "\n"

    return render


def benchmark_headline() -> str:
    """The README's lines on speed: each full run's geometric mean, lowest figure and `model.fit` speedups
    (the README names no dates: the runs' own tables, in docs/performance.md, do)."""
    lines = [
        "| policy | per-layer speedup, geometric mean | figures below 1.0x | `model.fit`, documented model |",
        "|---|---:|---|---|",
    ]
    for plan, path in (("exact", "benchmark.json"), ("fast", "benchmark_fast.json")):
        run = _json(ROOT / "docs" / path)
        summary = run["summary"]
        fits = "; ".join(f"batch {batch}: {_fit(run, batch)}" for batch in summary["fit_speedup"])
        lines.append(
            f"| `{plan}` | {summary['layer_speedup_geomean']:.2f}x | {len(_below(run))} of {2 * len(run['layers'])}, "
            f"lowest {summary['layer_speedup_min']:.2f}x | {fits} |"
        )
    return "\n".join(lines) + "\n"


def algorithm_runs() -> str:
    """Each named algorithm's figures (`bench --select ... --plan NAME --json docs/data/bench_NAME.json`) beside
    the default plan's, on the cases the default loses."""
    from keras_cnn_ref.kernels import Algorithm

    runs = {
        algorithm.value: _json(DATA / f"bench_{algorithm.value}.json")
        for algorithm in Algorithm
        if (DATA / f"bench_{algorithm.value}.json").exists()
    }
    default = _json(ROOT / "docs" / "benchmark.json")
    cases = {(case["id"], case["dtype"]): case for case in default["layers"]}
    measured = {name: {(c["id"], c["dtype"]): c for c in run["layers"]} for name, run in runs.items()}
    keys = dict.fromkeys(key for run in measured.values() for key in run)
    lines = [
        "| figure | `exact` (its algorithm) | " + " | ".join(f"`{name}`" for name in runs) + " |",
        "|---|---:|" + "---:|" * len(runs),
    ]
    for (case_id, dtype), stage in itertools.product(keys, STAGES):
        ours = cases[case_id, dtype]
        cells = [
            f"{measured[name][case_id, dtype][stage]['speedup']:.2f}x" if (case_id, dtype) in measured[name] else "-"
            for name in runs
        ]
        figure = f"{case_id} {dtype} {stage.replace('forward_backward', 'fwd+bwd')}"
        algorithm = ", ".join(a for a in ours.get("algorithms", []) if a != "tap_loop" or len(ours["algorithms"]) == 1)
        lines.append(f"| {figure} | {ours[stage]['speedup']:.2f}x ({algorithm}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _below(run: dict) -> list[float]:
    return [case[stage]["speedup"] for case in run["layers"] for stage in STAGES if case[stage]["speedup"] < 0.995]


def _few_filters(run: dict) -> str:
    heads = [case[stage]["speedup"] for case in run["layers"] for stage in STAGES if case["id"].startswith("head")]
    return f"lowest {min(heads):.2f}x of {len(heads)}" if heads else "-"


def _fit(run: dict, batch: str) -> str:
    fit = next(f for f in run["fit"] if str(f["batch_size"]) == batch)
    rates = fit["samples_per_s"]
    torch = f", {rates['ours'] / rates['pytorch']:.2f}x PyTorch" if "pytorch" in rates else ""
    return f"{fit['speedup']:.2f}x built-in{torch}"


_TARGETS = [
    (
        "per-layer geometric mean",
        "`exact` 2.6x, `fast` 3.0x",
        lambda r: f"{r['summary']['layer_speedup_geomean']:.2f}x",
    ),
    (
        "figures below 1.0x",
        "`exact` at most 6, none below 0.85x; `fast` none",
        lambda r: f"{len(_below(r))} of {2 * len(r['layers'])}, lowest {r['summary']['layer_speedup_min']:.2f}x",
    ),
    ("few-output-channel cases (`head*`)", "0.9x or more", _few_filters),
    ("train-step compile", "at most 1.5x", lambda r: f"{r['summary']['compile_ratio']:.2f}x"),
    ("train-step peak memory", "at most 1.25x", lambda r: f"{r['summary']['memory_ratio']:.2f}x"),
    ("3x3 64->64 fwd+bwd, share of matmul peak", "`fast` 80%", lambda r: f"{r['summary']['peak_fraction']:.0%}"),
    ("`model.fit` batch 32, ours against each", "ahead of PyTorch", lambda r: _fit(r, "32")),
    ("`model.fit` batch 128", "2x built-in, ahead of PyTorch", lambda r: _fit(r, "128")),
]


def first_call() -> str:
    """`tools/first_call.py`'s table: each keras.applications model's first jitted call, built-in and plugin."""
    data = _json(DATA / "first_call.json")
    lines = [
        f"Batch {data['batch']}, each model's default input size, `weights=None`; median of {data['rounds']} "
        f"rounds, each side in a fresh process (JAX {data['jax']}, Keras {data['keras']}, {data['device']}, "
        f"plan {data['plan']}):",
        "",
        "| model | first call, built-in | plugin | ratio | a later call, built-in | plugin |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in data["rows"]:
        lines.append(
            f"| {row['model']} | {row['builtin_first_s']:.2f} s | {row['plugin_first_s']:.2f} s | {row['ratio']:.2f}x "
            f"| {row['builtin_second_s'] * 1e3:.0f} ms | {row['plugin_second_s'] * 1e3:.0f} ms |"
        )
    return "\n".join(lines) + "\n"


def roundoff() -> str:
    """Each algorithm's largest normwise error, forward / input gradient / kernel gradient, per rank and taps."""
    from keras_cnn_ref.kernels import Algorithm

    data = _json(DATA / "roundoff.json")
    columns = sorted({(row["rank"], row["taps"]) for row in data["rows"]})
    cells = {(row["algorithm"], row["rank"], row["taps"]): row for row in data["rows"]}
    lines = [
        f"Largest of {data['draws']} draws a cell (seed {data['seed']}; JAX {data['jax']}, {data['device']}), "
        "output / input gradient / kernel gradient, in units of 1e-7:",
        "",
        "| float32 | " + " | ".join(f"{rank}-D, {'x'.join([str(taps)] * rank)} taps" for rank, taps in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    order = [algorithm.value for algorithm in Algorithm]  # the enumeration's order; a tile size after its name
    for algorithm in sorted(
        dict.fromkeys(row["algorithm"] for row in data["rows"]), key=lambda name: (order.index(name.split()[0]), name)
    ):
        row = [
            (
                " / ".join(f"{cell[part]['max'] / 1e-7:.1f}" for part in ("output", "input_grad", "kernel_grad"))
                if (cell := cells.get((algorithm, *column)))
                else "-"
            )
            for column in columns
        ]
        lines.append(f"| `{algorithm}` | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def mf_bounds() -> str:
    """Minimal filtering's largest error against built-in, as a fraction of the suite's tolerance, per channels."""
    from keras_cnn_ref.compare import TOLERANCES
    from keras_cnn_ref.kernels import bounds

    data = _json(ROOT / "keras_cnn_ref" / "kernels" / "minimal_filtering_bounds.json")
    channels = sorted({row["channels"] for row in data["rows"]})
    cells = {
        (row["rank"], row["taps"], row["dtype"], row["tile"], row["channels"]): max(
            row[part] for part in ("output", "input_grad", "kernel_grad")
        )
        for row in data["rows"]
    }
    lines = [
        f"Largest of the output and both gradients over two draws (seed {data['seed']}; JAX {data['jax']}, "
        f"{data['device']}), as a fraction of the tolerance; in bold where `fast` may take the tile:",
        "",
        "| shape, dtype, tile | " + " | ".join(f"{c} channels" for c in channels) + " |",
        "|---|" + "---|" * len(channels),
    ]
    for rank, taps, dtype, tile in sorted(dict.fromkeys(key[:4] for key in cells)):
        row = []
        for c in channels:
            share = cells[(rank, taps, dtype, tile, c)] / TOLERANCES[dtype]
            row.append(f"**{share:.2f}**" if share <= bounds.BUDGET[dtype] else f"{share:.2f}")
        shape = "x".join([str(taps)] * rank)
        lines.append(f"| {rank}-D {shape}, {dtype}, F({tile}, {taps}) | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def hard_edges() -> str:
    """Temporary memory and compile time of a forward and backward pass, ours against XLA's ops."""
    data = _json(DATA / "hard_edges.json")
    lines = [
        f"Median of {data['rounds']} compiles (JAX {data['jax']}, {data['device']}):",
        "",
        "| fwd+bwd, float32, \"same\" | memory: ours | XLA's | compile: ours | XLA's |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {row['case']} | {row['ours_mib']:,.1f} MiB | {row['xla_mib']:,.1f} MiB | "
        f"{row['ours_compile_s']:.2f} s | {row['xla_compile_s']:.2f} s |"
        for row in data["rows"]
    ]
    return "\n".join(lines) + "\n"


def training() -> str:
    """The full MNIST run: each side's last epoch, its median speed after the first, and the weight gaps."""
    data = _json(DATA / "mnist_training.json")
    config, history = data["config"], data["history"]
    sides = list(history)
    last = {side: history[side][-1] for side in sides}
    speed = {side: statistics.median(row["samples_per_second"] for row in history[side][1:]) for side in sides}
    lines = [
        f"| after {config['epochs']} epochs (batch {config['batch_size']}, Adam {config['learning_rate']:g}; "
        f"Keras {data['keras']}, JAX {data['jax']}) | " + " | ".join(sides) + " |",
        "|---|" + "---:|" * len(sides),
        "| test accuracy | " + " | ".join(f"{last[side]['test_accuracy']:.2%}" for side in sides) + " |",
        "| training loss | " + " | ".join(f"{last[side]['loss']:.4f}" for side in sides) + " |",
        "| samples/s, median of epochs 2 on (not the benchmark) | "
        + " | ".join(f"{speed[side]:,.0f}" for side in sides)
        + " |",
    ]
    gaps = data["weight_gap_after_epoch"]
    lines += [
        "",
        "Weight gap after each epoch (the largest normwise relative difference between the two sides' "
        "weights): " + ", ".join(f"{gap:.1e}" for gap in gaps) + ".",
    ]
    return "\n".join(lines) + "\n"


def distribution() -> str:
    """Each model's collectives per device under DataParallel and ModelParallel, ours and built-in's."""
    data = _json(DATA / "distribution.json")
    found = {}
    for row in data["results"]:
        if row["compared"] == "moves built-in does not make":
            model, parallelism, _, *processes = row["case"].split("-")  # "documented-data-layers[-2-processes]"
            job = f"{model}, {processes[0]} processes of 4 devices" if processes else f"{model}, 8 devices"
            found[job, parallelism] = ast.literal_eval(row["detail"].split(" | ", 1)[1])
    lines = [
        "| model, job | DataParallel: ours | built-in | ModelParallel 2x4: ours | built-in |",
        "|---|---|---|---|---|",
    ]
    for job in dict.fromkeys(job for job, _ in found):
        cells = [
            _collectives(found[job, parallelism][side])
            for parallelism in ("data", "model")
            for side in ("tested", "builtin")
        ]
        lines.append(f"| {job} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _collectives(kinds: dict[str, str]) -> str:
    return "; ".join(f"{kind}: {ops}" for kind, ops in kinds.items()) or "none"


TABLES: dict[str, Callable[[], str]] = {
    "layer-table": layer_table,
    "benchmark": benchmark(ROOT / "docs" / "benchmark.json"),
    "benchmark-gpu": benchmark(ROOT / "docs" / "benchmark_gpu.json"),
    "benchmark-runs": benchmark_pair(ROOT / "docs" / "benchmark.json", ROOT / "docs" / "benchmark_fast.json"),
    "benchmark-headline": benchmark_headline,
    "first-call": first_call,
    "algorithm-runs": algorithm_runs,
    "roundoff": roundoff,
    "mf-bounds": mf_bounds,
    "hard-edges": hard_edges,
    "training": training,
    "distribution": distribution,
}


def documents() -> list[pathlib.Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def regenerated(text: str) -> str:
    """`text` with every generated region rendered afresh; an unknown NAME raises a KeyError."""
    return REGION.sub(lambda found: found.group(1) + TABLES[found.group(2)]() + found.group(4), text)


def stale() -> list[str]:
    """`path: NAME` for each region whose text differs from its rendering."""
    differing = []
    for path in documents():
        text = path.read_text()
        for found in REGION.finditer(text):
            if TABLES[found.group(2)]() != found.group(3):
                differing.append(f"{path.relative_to(ROOT)}: {found.group(2)}")
    return differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a region is stale")
    if parser.parse_args().check:
        differing = stale()
        print("\n".join(f"stale: {line} (run python tools/docs_tables.py)" for line in differing) or "all current")
        return 1 if differing else 0
    for path in documents():
        text = path.read_text()
        if (new := regenerated(text)) != text:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
