"""The scaling figure: `model.fit` on 8 simulated devices against 1, ours and built-in, in a process of its own."""

import pytest

from keras_cnn_ref.benchmark import report
from keras_cnn_ref.benchmark.scaling import MODELS, scaling_throughput
from keras_cnn_ref.datasets import SAMPLE_PATH


@pytest.mark.heavy
def test_each_model_has_its_four_rates_two_ratios_and_their_quotient():
    results = scaling_throughput(batch_size=128, samples=256, rounds=1, data=str(SAMPLE_PATH), download=False)
    assert [result["model"] for result in results] == list(MODELS)
    for result in results:
        assert result["samples"] == 256 and result["data"].startswith("file")
        runs = ("x1", "x8", "x8 per device")
        expected = [f"{side} {run}" for side in ("ours", "builtin") for run in runs]
        assert sorted(result["samples_per_s"]) == sorted(expected)
        assert all(rate > 0 for rate in result["samples_per_s"].values())
        speedup = result["speedup"]
        assert result["scaling"] == pytest.approx(speedup["x8"] / speedup["x1"])
        assert result["scaling_per_device"] == pytest.approx(speedup["x8 per device"] / speedup["x1"])
    table = report._scaling_lines(results)
    assert "| documented model, speedup |" in "\n".join(table) and "| wider model, speedup |" in "\n".join(table)
