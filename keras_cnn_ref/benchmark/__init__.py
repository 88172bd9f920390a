"""`keras-cnn-ref bench`: ours against built-in Keras, interleaved in one process, medians.

Ratios are the result (built-in time / ours, so above 1 means faster): on a
shared machine absolute times drift, but contenders measured back to back,
round after round, drift together. Each ratio is the median of the rounds'
ratios (`timing.paired_speedup`).
"""

from __future__ import annotations

import datetime
import platform
import sys
import time

from keras_cnn_ref.benchmark.cases import case_matches, selected_cases
from keras_cnn_ref.benchmark.report import summarize
from keras_cnn_ref.benchmark.timing import matmul_peak_gflops

# How many interleaved rounds each measurement takes. A `model.fit` call has a
# fixed cost of its own, so an epoch must be long enough (many steps) for the
# per-step difference to show.
# `--quick` trains on the bundled MNIST sample (3,000 images) unless given a file: it never waits on a download.
# The scaling figure (`scaling.py`, 8 simulated devices in a process of its own) runs in full runs only.
FULL = {
    "rounds": 15,
    "fit_rounds": 5,
    "fit_samples": 15360,
    "fit_batches": (32, 128),
    "step_rounds": 9,
    "download": True,
    "scaling_rounds": 5,
    "scaling_samples": 8192,
}
QUICK = {
    "rounds": 5,
    "fit_rounds": 2,
    "fit_samples": 2560,
    "fit_batches": (128,),
    "step_rounds": 1,
    "download": False,
    "scaling_rounds": 0,
    "scaling_samples": 0,
}


def run_benchmark(
    quick: bool = False,
    data: str | None = None,
    log=print,
    plan: dict | None = None,
    cases: list[dict] | None = None,
    select: str | None = None,
) -> dict:
    """Runs every measurement and returns the results (see `report` for their shape).

    `plan` (default `QUICK` or `FULL`) and `cases` (default
    `selected_cases(quick)`) narrow a run further. With `select`, comma-separated
    globs of case ids (`cases.select`), only those layer cases run: no training figures.
    """
    from keras_cnn_ref.benchmark.layers import CLASSES, measure_layer_case
    from keras_cnn_ref.kernels import Algorithm, get_policy

    plan, started = plan or (QUICK if quick else FULL), time.perf_counter()
    results = {"quick": quick, "environment": environment(), "matmul_peak_gflops": matmul_peak_gflops()}
    log(f"matmul peak: {results['matmul_peak_gflops']:.0f} GFLOP/s")
    cases = selected_cases(quick) if cases is None else cases
    results["fit"], results["scaling"] = [], []
    if select:
        cases = [case for case in cases if case_matches(case["id"], select)]
    else:
        _training_figures(results, plan, data, log)
    results["layers"], results["skipped"] = [], []
    for case in cases:
        if case["layer"] not in CLASSES:  # adaptive pooling before Keras 3.13
            continue
        try:
            measured = measure_layer_case(case, plan["rounds"])
        except ValueError as error:  # a plan that names one algorithm, which cannot compute this case
            if not isinstance(get_policy(), Algorithm):
                raise
            log(f"{case['id']} {case['dtype']}: skipped: {error}")
            results["skipped"].append({"id": case["id"], "dtype": case["dtype"], "reason": str(error)})
            continue
        log(
            f"{case['id']} {case['dtype']}: forward {measured['forward']['speedup']:.2f}x, "
            f"fwd+bwd {measured['forward_backward']['speedup']:.2f}x ({', '.join(measured['algorithms']) or '-'})"
        )
        results["layers"].append(measured)
    results["matmul_peak_gflops_after"] = matmul_peak_gflops()
    results["summary"] = summarize(results)
    results["wall_s"] = time.perf_counter() - started
    return results


def _training_figures(results: dict, plan: dict, data: str | None, log) -> None:
    """`model.fit`'s throughput at each batch size, its scaling over simulated devices, and the step's costs."""
    from keras_cnn_ref.benchmark.scaling import scaling_throughput
    from keras_cnn_ref.benchmark.training import fit_throughput, train_step_costs

    for batch_size in plan["fit_batches"]:
        fit = fit_throughput(batch_size, plan["fit_samples"], plan["fit_rounds"], data, plan["download"])
        log(
            f"fit batch {batch_size}: "
            + ", ".join(f"{k} {v:,.0f}/s" for k, v in fit["samples_per_s"].items())
            + f" -> {fit['speedup']:.2f}x"
        )
        results["fit"].append(fit)
    if plan["scaling_rounds"]:
        results["scaling"] = scaling_throughput(
            128, plan["scaling_samples"], plan["scaling_rounds"], data, plan["download"]
        )
        for scaled in results["scaling"]:
            log(
                f"scaling {scaled['model']}: "
                + ", ".join(f"{run} {speedup:.2f}x" for run, speedup in scaled["speedup"].items())
                + f" -> {scaled['scaling']:.2f}, per device {scaled['scaling_per_device']:.2f}"
            )
    results["train_step"] = {"batch_size": 128, **train_step_costs(128, plan["step_rounds"])}
    log(
        f"train step: compile {results['train_step']['compile_ratio']:.2f}x, "
        f"memory {results['train_step']['memory_ratio']:.2f}x"
    )


def environment() -> dict:
    import jax

    import keras_cnn_ref
    from keras_cnn_ref.kernels import get_autotune, get_policy
    from keras_cnn_ref.models import keras

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, {_cpu_count()} CPU cores",
        "device": str(jax.devices()[0].device_kind),
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "jax": jax.__version__,
        "keras_cnn_ref": keras_cnn_ref.__version__,
        "plan": get_policy().value,
        "autotune": bool(get_autotune()),
        "torch": torch_version,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
