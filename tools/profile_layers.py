"""Where a benchmark case's time goes: the ops XLA ran, ours against built-in Keras.

    python tools/profile_layers.py 3x3-56x56x64 [--dtype bfloat16] [--steps 10] [--top 8]

Each side's jitted forward and forward+backward pass (the benchmark's own
layers, weights and input: `benchmark.layers.layer_steps`) runs under JAX's
profiler, and the ops it ran are summed per call: on a GPU its kernels, with
their total (they do not overlap); on a CPU the ops of XLA's worker threads,
whose spans can nest, so no total is given there.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax

from keras_cnn_ref.benchmark.cases import LAYER_CASES
from keras_cnn_ref.benchmark.layers import layer_steps
from keras_cnn_ref.benchmark.report import STAGES


def op_times(run, steps: int) -> tuple[dict[str, float], bool]:
    """Seconds per call of each op `run` launches, and whether they are a GPU's kernels."""
    for _ in range(3):
        jax.block_until_ready(run())  # compiled and warm
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder):
            for _ in range(steps):
                jax.block_until_ready(run())
        with gzip.open(glob.glob(f"{folder}/**/*.trace.json.gz", recursive=True)[0]) as trace:
            events = json.load(trace)["traceEvents"]
    names = {
        (e["pid"], e.get("tid")): e["args"]["name"] for e in events if e.get("name") in ("process_name", "thread_name")
    }
    gpu_pids = {pid for (pid, tid), name in names.items() if tid is None and "GPU" in name}

    def counted(event) -> bool:
        if gpu_pids:
            return event["pid"] in gpu_pids
        on_xla_thread = names.get((event["pid"], event.get("tid")), "").startswith("tf_XLA")
        return on_xla_thread and not event["name"].startswith(("ThunkExecutor", "end: "))  # the executor's own spans

    seconds = collections.defaultdict(float)
    for event in events:
        if event.get("ph") == "X" and "dur" in event and counted(event):
            seconds[event["name"]] += event["dur"] / 1e6 / steps
    return seconds, bool(gpu_pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=[case["id"] for case in LAYER_CASES])
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    case = {**next(case for case in LAYER_CASES if case["id"] == args.case), "dtype": args.dtype}
    steps = layer_steps(case)
    for stage in STAGES:
        for side in steps:
            seconds, on_gpu = op_times(steps[side][stage], args.steps)
            total = f": kernels {sum(seconds.values()) * 1e3:.3f} ms a call" if on_gpu else ""
            print(f"{args.case} {args.dtype} {stage}, {side}{total}")
            for name, time in sorted(seconds.items(), key=lambda item: -item[1])[: args.top]:
                print(f"  {time * 1e3:8.3f} ms  {name[:100]}")


if __name__ == "__main__":
    main()
