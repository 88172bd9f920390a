"""Interleaved samples, paired speedups and the matmul peak."""

import time

import pytest

from keras_cnn_ref.benchmark.timing import interleaved_medians, interleaved_samples, matmul_peak_gflops, paired_speedup

pytestmark = pytest.mark.quick


def sleeper(calls, name, seconds):
    def run():
        calls.append(name)
        time.sleep(seconds)

    return run


def test_samples_rank_contenders_and_the_order_alternates():
    calls = []
    contenders = {"slow": sleeper(calls, "slow", 0.02), "fast": sleeper(calls, "fast", 0.002)}
    samples = interleaved_samples(contenders, rounds=3, warmup=1, min_sample_s=0)
    assert [len(times) for times in samples.values()] == [3, 3]
    medians = {name: sorted(times)[1] for name, times in samples.items()}  # the middle of 3: robust to one stall
    assert medians["slow"] > 4 * medians["fast"]
    assert calls == ["fast", "slow", "slow", "fast", "fast", "slow", "slow", "fast"]  # 1 warm-up + 3 rounds


def test_a_fast_contender_is_timed_several_calls_at_a_time():
    calls = []
    contenders = {"slow": sleeper(calls, "slow", 0.06), "fast": sleeper(calls, "fast", 0.002)}
    samples = interleaved_samples(contenders, rounds=2, warmup=1, min_sample_s=0.05)
    fast_repeats, remainder = divmod(calls.count("fast") - 1, 2)  # one warm-up call, then 2 samples
    assert calls.count("slow") == 3 and remainder == 0 and fast_repeats >= 4  # 50 ms of 2 ms calls (25 when idle)
    assert 0.002 <= min(samples["fast"]) < 0.03  # seconds per call, not per 50 ms sample


def test_medians_are_the_middle_sample():
    medians = interleaved_medians({"sleep": lambda: time.sleep(0.005)}, rounds=3)
    assert 0.005 <= medians["sleep"] < 0.05


def test_paired_speedup_holds_through_a_burst_that_slows_one_round():
    reference, ours = [0.02, 0.02, 0.2, 0.02, 0.02], [0.01, 0.01, 0.1, 0.01, 0.011]
    assert paired_speedup(reference, ours) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        paired_speedup([1.0, 2.0], [1.0])


def test_matmul_peak_is_a_plausible_rate():
    assert 0.1 < matmul_peak_gflops(rounds=1) < 1e6
