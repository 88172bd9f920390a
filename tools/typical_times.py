"""The times the command's help quotes: each conformance section's, `bench --quick`'s and a full bench's.

    python tools/typical_times.py [--per-section 4] [--json keras_cnn_ref/_data/typical_times.json]
    python tools/typical_times.py --full-bench docs/benchmark.json   # only the full bench's time, from its JSON

For each section of the suite, its cases (or, in a section of more than 50
cases or of slow ones, `--per-section` cases spread over it, in the order
`--list` prints) run against keras_cnn_ref's layers, one after another in
this process, as `keras-cnn-ref check` runs them; the section's typical time
is their mean time a case times its number of cases. Then `keras-cnn-ref
bench --quick` runs once, timed from outside, as a user runs it. The help of
`check` and `bench` reads the file this writes (`keras_cnn_ref/cli.py`).
A full bench's time is the one its own JSON records (`wall_s`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import jax

from keras_cnn_ref.conformance.harness import Implementation, keras
from keras_cnn_ref.conformance.suite import run_case, sections

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _sample(cases: list[dict], per_section: int) -> list[dict]:
    """Every case of a small section of quick cases; else `per_section` cases spread over it."""
    if len(cases) <= 50 and not any(case.get("slow") for case in cases):
        return cases
    return cases[:: max(1, len(cases) // per_section)][:per_section]


def section_times(per_section: int) -> dict[str, dict]:
    impl, times = Implementation(), {}
    for section in sections():
        sampled = _sample(section.cases, per_section)
        start = time.perf_counter()
        for case in sampled:
            run_case(section, case, impl)
        per_case = (time.perf_counter() - start) / len(sampled)
        times[section.name] = {
            "cases": len(section.cases),
            "sampled": len(sampled),
            "seconds": per_case * len(section.cases),
        }
        print(f"{section.name}: {len(section.cases)} cases, about {times[section.name]['seconds']:.0f} s", flush=True)
    return times


def bench_quick_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "keras_cnn_ref", "bench", "--quick"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-section", type=int, default=4)
    parser.add_argument("--json", default=str(ROOT / "keras_cnn_ref" / "_data" / "typical_times.json"))
    parser.add_argument("--full-bench", metavar="PATH", help="only take a full bench's time from its --json file")
    options = parser.parse_args()
    path = pathlib.Path(options.json)
    if options.full_bench:
        data = {
            **json.loads(path.read_text()),
            "bench_full_seconds": json.loads(pathlib.Path(options.full_bench).read_text())["wall_s"],
        }
        path.write_text(json.dumps(data, indent=1) + "\n")
        return
    previous = json.loads(path.read_text()) if path.exists() else {}
    data = {
        "measured_on": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores ({jax.default_backend()}), "
        f"Keras {keras.__version__}, JAX {jax.__version__}",
        "sections": section_times(options.per_section),
        "bench_quick_seconds": previous.get("bench_quick_seconds", 0.0),
        "bench_full_seconds": previous.get("bench_full_seconds", 0.0),
    }
    path.write_text(json.dumps(data, indent=1) + "\n")  # the command reads it, bench --quick included
    data["bench_quick_seconds"] = bench_quick_seconds()
    print(f"bench --quick: {data['bench_quick_seconds']:.0f} s")
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
