"""A tiny benchmark run, end to end: measurements, summary, markdown, chart and the CLI."""

import json

import pytest

from keras_cnn_ref import benchmark, kernels
from keras_cnn_ref.benchmark import report
from keras_cnn_ref.benchmark.cases import LAYER_CASES
from keras_cnn_ref.cli import main
from keras_cnn_ref.datasets import SAMPLE_PATH

TINY_PLAN = {**benchmark.QUICK, "rounds": 1, "fit_rounds": 1, "fit_samples": 256}


@pytest.fixture(scope="module")
def tiny_results():
    cases = [
        {**case, "dtype": dtype, "shape": (2, *case["shape"][1:])}
        for case in LAYER_CASES[:2]
        for dtype in ("float32", "bfloat16")
    ]
    return benchmark.run_benchmark(
        quick=True, data=str(SAMPLE_PATH), log=lambda line: None, plan=TINY_PLAN, cases=cases
    )


def test_every_measurement_is_there_and_positive(tiny_results):
    fit = tiny_results["fit"][0]
    assert fit["batch_size"] == 128 and fit["samples"] == 256 and fit["data"].startswith("file")
    assert fit["samples_per_s"]["ours"] > 0 and fit["speedup"] > 0
    step = tiny_results["train_step"]
    for side in ("ours", "builtin"):
        assert step[side]["compile_s"] > 0 and step[side]["peak_bytes"] > 128 * 28 * 28 * 4
    conv, pool = tiny_results["layers"][0], tiny_results["layers"][2]
    assert conv["forward"]["ours_gflops"] > 0 and pool["forward"]["ours_gflops"] is None
    assert conv["algorithms"] == ["banded_rows", "tap_loop"] and pool["algorithms"] == []  # the band, its guard
    assert [case["dtype"] for case in tiny_results["layers"]] == ["float32", "bfloat16"] * 2
    summary = tiny_results["summary"]
    speedups = [case[stage]["speedup"] for case in tiny_results["layers"] for stage in report.STAGES]
    assert summary["layer_speedup_min"] == min(speedups)
    assert min(speedups) <= summary["layer_speedup_geomean"] <= max(speedups)


def test_markdown_states_machine_versions_and_every_case(tiny_results):
    markdown = report.to_markdown(tiny_results)
    env = tiny_results["environment"]
    facts = (env["date"], env["keras"], env["jax"], "plan exact", "batch 128", "mnist-conv1", "mnist-pool1", "bfloat16")
    for fact in facts:
        assert fact in markdown
    assert markdown.count("\n| mnist-") == 4


def test_cli_writes_json_markdown_and_chart(tiny_results, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "run_benchmark", lambda quick, data, select: tiny_results)
    paths = {name: tmp_path / name for name in ("results.json", "perf.md", "chart.png")}
    assert (
        main(
            [
                "bench",
                "--quick",
                "--json",
                str(paths["results.json"]),
                "--markdown",
                str(paths["perf.md"]),
                "--plot",
                str(paths["chart.png"]),
            ]
        )
        == 0
    )
    assert json.loads(paths["results.json"].read_text())["summary"] == tiny_results["summary"]
    assert paths["perf.md"].read_text() == report.to_markdown(tiny_results)
    printed = capsys.readouterr().out
    assert paths["perf.md"].read_text() in printed
    assert printed.splitlines()[-1] == f"wrote {paths['results.json']}, {paths['perf.md']}, {paths['chart.png']}"
    assert paths["chart.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.quick
def test_an_unwritable_output_is_refused_before_the_bench_runs(monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "run_benchmark", lambda quick, data, select: pytest.fail("the bench ran"))
    assert main(["bench", "--quick", "--plot", "/no/such/folder/chart.png"]) == 2
    assert (
        capsys.readouterr().err
        == "keras-cnn-ref bench: --plot /no/such/folder/chart.png: no folder /no/such/folder to write chart.png in.\n"
    )


def test_quick_never_waits_on_a_download(monkeypatch):
    from keras_cnn_ref.models import keras

    monkeypatch.delenv("KERAS_CNN_REF_MNIST", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: pytest.fail("--quick asked Keras to download"))
    case = {**LAYER_CASES[1], "dtype": "float32", "shape": (2, *LAYER_CASES[1]["shape"][1:])}  # a small pool
    results = benchmark.run_benchmark(quick=True, log=lambda line: None, plan=TINY_PLAN, cases=[case])
    assert results["fit"][0]["data"].startswith("the bundled MNIST sample")


def test_geometric_mean():
    assert report.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)


def test_peak_fraction_uses_the_higher_peak_reading(tiny_results):
    yardstick = {**tiny_results["layers"][0], "id": report.PEAK_CASE, "dtype": "float32"}
    yardstick["forward_backward"] = {**yardstick["forward_backward"], "ours_gflops": 60.0}
    yardstick["executed_share"] = 0.25  # minimal filtering F(4, 3): 36 products for 16 outputs of 9 taps
    results = {**tiny_results, "layers": [yardstick], "matmul_peak_gflops": 80.0, "matmul_peak_gflops_after": 100.0}
    summary = report.summarize(results)
    assert summary["matmul_peak_gflops"] == 100.0 and summary["peak_fraction"] == pytest.approx(0.6)
    assert summary["peak_fraction_executed"] == pytest.approx(0.15)
    markdown = report.to_markdown({**results, "summary": summary})
    assert "runs at 60% of the matmul peak" in markdown
    assert "minimal filtering runs 25% of those products, at 15% of the peak" in markdown
    plain = report.to_markdown({**results, "summary": {**summary, "peak_fraction_executed": 0.6}})
    assert "runs at 60% of the matmul peak" in plain and "minimal filtering" not in plain  # only what ran
    assert tiny_results["summary"]["peak_fraction"] is None  # no yardstick case in the tiny run


def test_a_selection_times_only_its_layer_cases_under_the_plan_and_no_training(monkeypatch):
    cases = [{**case, "dtype": "float32", "shape": (2, *case["shape"][1:])} for case in LAYER_CASES[:3]]
    calls = []
    monkeypatch.setattr(benchmark, "_training_figures", lambda *args: calls.append(args))
    with kernels.policy("tap_loop"):
        results = benchmark.run_benchmark(log=lambda line: None, plan=TINY_PLAN, cases=cases, select="*-conv*")
    assert calls == [] and results["fit"] == [] and "train_step" not in results
    assert [case["id"] for case in results["layers"]] == ["mnist-conv1", "mnist-conv2"]
    assert results["layers"][0]["algorithms"] == ["tap_loop"] and results["environment"]["plan"] == "tap_loop"
    markdown = report.to_markdown(results)
    assert "plan tap_loop," in markdown and "model.fit" not in markdown and "Training step" not in markdown
    assert results["summary"]["compile_ratio"] is None and results["summary"]["fit_speedup"] == {}


@pytest.mark.quick
def test_a_selection_that_matches_no_case_is_a_usage_error_that_names_the_ids(monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "run_benchmark", lambda quick, data, select: pytest.fail("the bench ran"))
    assert main(["bench", "--quick", "--select", "1d-k3"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("keras-cnn-ref bench: no layer case of --quick matches --select '1d-k3': the ids are ")
    assert "1d-k3-1024x64," in error and error.count("\n") == 1


def test_a_named_algorithm_skips_the_cases_it_cannot_compute_and_says_why():
    by_id = {case["id"]: case for case in LAYER_CASES}
    cases = [
        {**by_id["mnist-conv1"], "dtype": "float32", "shape": (2, 28, 28, 1)},
        {**by_id["1d-k3-1024x64"], "dtype": "float32", "shape": (2, 32, 64)},
    ]
    lines = []
    with kernels.policy("banded_rows"):
        results = benchmark.run_benchmark(log=lines.append, plan=TINY_PLAN, cases=cases, select="*")
    assert [case["id"] for case in results["layers"]] == ["mnist-conv1"]
    assert results["layers"][0]["algorithms"] == ["banded_rows", "tap_loop"]
    (skipped,) = results["skipped"]
    assert (
        skipped["id"] == "1d-k3-1024x64" and "names the algorithm 'banded_rows', which needs a 2-D" in skipped["reason"]
    )
    assert any(line.startswith("1d-k3-1024x64 float32: skipped: The plan names") for line in lines)
    with kernels.policy("exact"), pytest.raises(ValueError):  # under a policy, an error is the bench's own
        benchmark.run_benchmark(
            log=lines.append, plan=TINY_PLAN, cases=[{**cases[0], "args": {"filters": 4, "kernel_size": 0}}], select="*"
        )
