"""The benchmark's results as JSON, a markdown section and a PNG chart."""

from __future__ import annotations

import json
import math
import pathlib

STAGES = ("forward", "forward_backward")
PEAK_CASE = "3x3-56x56x64"  # the yardstick: its float32 fwd+bwd as a fraction of the matmul peak


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def summarize(results: dict) -> dict:
    """The headline ratios: worst and geometric-mean per-layer speedup, training speedups."""
    speedups = [case[stage]["speedup"] for case in results["layers"] for stage in STAGES]
    peak = max(results["matmul_peak_gflops"], results["matmul_peak_gflops_after"])  # the higher reading: conservative
    yardstick = [case for case in results["layers"] if case["id"] == PEAK_CASE and case["dtype"] == "float32"]
    fraction = yardstick[0]["forward_backward"]["ours_gflops"] / peak if yardstick else None
    return {
        "matmul_peak_gflops": peak,
        "peak_fraction": fraction,  # direct-equivalent: the direct convolution's multiply-adds over ours' time
        "peak_fraction_executed": fraction * yardstick[0].get("executed_share", 1.0) if yardstick else None,
        "layer_speedup_geomean": geometric_mean(speedups),
        "layer_speedup_min": min(speedups),
        "fit_speedup": {str(fit["batch_size"]): fit["speedup"] for fit in results["fit"]},
        "scaling": {scaled["model"]: scaled["scaling"] for scaled in results.get("scaling", [])},
        "compile_ratio": results["train_step"]["compile_ratio"] if "train_step" in results else None,
        "memory_ratio": results["train_step"]["memory_ratio"] if "train_step" in results else None,
    }


def write_json(path: str, results: dict) -> None:
    pathlib.Path(path).write_text(json.dumps(results, indent=2) + "\n")


def to_markdown(results: dict) -> str:
    """The README's performance tables: machine and versions, training, then every layer case (and the
    algorithms our passes ran, where the results record them)."""
    env, summary = results["environment"], results["summary"]
    runs = any("algorithms" in case for case in results["layers"])
    lines = [
        f"Measured {env['date']} on {env['machine']} ({env['device']}), keras {env['keras']}, "
        f"jax {env['jax']}, keras_cnn_ref {env['keras_cnn_ref']}"
        + (f", torch {env['torch']}" if env.get("torch") else "")
        + f", plan {env.get('plan', 'exact')}{' (autotuned)' if env.get('autotune') else ''}"
        + f"{' (--quick)' if results['quick'] else ''}"
        + (f", in {results['wall_s'] / 60:.0f} minutes" if "wall_s" in results else "")
        + f". Matmul peak (`jnp.dot` 2048², the higher of a "
        f"reading before and after): {summary['matmul_peak_gflops']:.0f} GFLOP/s.",
        *_training_lines(results),
        "",
        f"Per-layer speedup (built-in time / ours): geometric mean {summary['layer_speedup_geomean']:.2f}x, "
        f"lowest {summary['layer_speedup_min']:.2f}x." + _peak_sentence(summary),
        "",
        "| layer case | dtype | input | forward | fwd+bwd | ours GFLOP/s fwd / fwd+bwd | built-in GFLOP/s |"
        + " ours runs |" * runs,
        "|---|---|---|---:|---:|---:|---:|" + "---|" * runs,
    ]
    for case in results["layers"]:
        lines.append(
            f"| {case['id']} | {case['dtype']} | {'x'.join(map(str, case['shape']))} "
            f"| {case['forward']['speedup']:.2f}x | {case['forward_backward']['speedup']:.2f}x "
            f"| {_gflops(case, 'ours')} | {_gflops(case, 'builtin')} |"
            + f" {', '.join(case.get('algorithms', [])) or '-'} |"
            * runs
        )
    return "\n".join([*lines, "", below_one(results)]) + "\n"


def _training_lines(results: dict) -> list[str]:
    """The `model.fit` table, the scaling table and the training step's costs; none in a `--select` run."""
    if "train_step" not in results:
        return []
    lines = [
        "",
        "| documented model, `model.fit` | ours (samples/s) | built-in | speedup | PyTorch eager |",
        "|---|---:|---:|---:|---:|",
    ]
    for fit in results["fit"]:
        rates = fit["samples_per_s"]
        torch_rate = f"{rates['pytorch']:,.0f}" if "pytorch" in rates else "not installed"
        lines.append(
            f"| batch {fit['batch_size']} | {rates['ours']:,.0f} | {rates['builtin']:,.0f} "
            f"| {fit['speedup']:.2f}x | {torch_rate} |"
        )
    lines += _scaling_lines(results.get("scaling", []))
    step = results["train_step"]
    return [
        *lines,
        "",
        f"Training step (batch {step['batch_size']}): compile {step['ours']['compile_s']:.2f} s vs "
        f"{step['builtin']['compile_s']:.2f} s built-in ({step['compile_ratio']:.2f}x); memory "
        f"{step['ours']['peak_bytes'] / 2**20:.1f} MiB vs {step['builtin']['peak_bytes'] / 2**20:.1f} MiB "
        f"({step['memory_ratio']:.2f}x).",
    ]


def _peak_sentence(summary: dict) -> str:
    """The yardstick case's share of the matmul peak; what minimal filtering ran of it, only where it ran."""
    if summary.get("peak_fraction") is None:
        return ""
    sentence = (
        f" The {PEAK_CASE} float32 fwd+bwd runs at {summary['peak_fraction']:.0%} of the matmul peak in "
        "direct-equivalent GFLOP/s (a direct convolution's multiply-adds over our time)"
    )
    executed = summary.get("peak_fraction_executed", summary["peak_fraction"])
    if executed == summary["peak_fraction"]:
        return sentence + "."
    return (
        sentence + f"; minimal filtering runs {executed / summary['peak_fraction']:.0%} of those products, at "
        f"{executed:.0%} of the peak."
    )


def below_one(results: dict) -> str:
    """The per-layer figures below 1.0x, slowest first: the list the prose about losses refers to."""
    slow = sorted(
        (
            case[stage]["speedup"],
            case["id"],
            case["dtype"],
            stage.replace("_", "+").replace("forward+", "fwd+").replace("backward", "bwd"),
        )
        for case in results["layers"]
        for stage in STAGES
        if round(case[stage]["speedup"], 2) < 1.0
    )  # below 1.00x as the table prints it
    total = len(results["layers"]) * len(STAGES)
    if not slow:
        return f"Below 1.0x: none of the {total} per-layer figures."
    return (
        f"Below 1.0x: {len(slow)} of the {total} per-layer figures: "
        + "; ".join(f"{case} {dtype} {stage} {speedup:.2f}x" for speedup, case, dtype, stage in slow)
        + "."
    )


def _scaling_lines(scaling: list[dict]) -> list[str]:
    """The scaling table: each model's `fit` speedup on 1 device and on 8, and their quotients (`scaling.py`)."""
    if not scaling:
        return []
    batch = scaling[0]["batch_size"]
    lines = [
        "",
        f"| `model.fit` under DataParallel | x1, batch {batch} | x8, batch {batch} | x8, batch {8 * batch} "
        "| scaling (same batch) | scaling (same batch per device) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for scaled in scaling:
        speedup = scaled["speedup"]
        lines.append(
            f"| {scaled['model']} model, speedup | {speedup['x1']:.2f}x | {speedup['x8']:.2f}x "
            f"| {speedup['x8 per device']:.2f}x | {scaled['scaling']:.2f} "
            f"| {scaled['scaling_per_device']:.2f} |"
        )
    return lines


def _gflops(case: dict, side: str) -> str:
    if case["forward"][f"{side}_gflops"] is None:
        return "-"
    return " / ".join(f"{case[stage][f'{side}_gflops']:.0f}" for stage in STAGES)


def plot(path: str, results: dict) -> None:
    """A bar chart of every case's speedup, forward and forward+backward, on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = results["layers"]
    labels = [f"{case['id']} {case['dtype'].replace('float', 'f')}" for case in cases]  # f32, bf16
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(cases) + 1.5))
    positions = range(len(cases))
    for offset, stage in ((-0.2, "forward"), (0.2, "forward_backward")):
        ax.barh(
            [p + offset for p in positions],
            [case[stage]["speedup"] for case in cases],
            height=0.4,
            label=stage.replace("_", "+"),
        )
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speedup over built-in Keras (built-in time / ours), log scale")
    ax.set_title(f"keras_cnn_ref vs built-in Keras on {results['environment']['device']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
