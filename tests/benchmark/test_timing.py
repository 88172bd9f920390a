"""Interleaved medians and the matmul peak."""

import time

from keras_cnn_ref.benchmark.timing import interleaved_medians, matmul_peak_gflops


def test_medians_rank_contenders_and_the_order_alternates():
    calls = []

    def sleeper(name, seconds):
        def run():
            calls.append(name)
            time.sleep(seconds)
        return run

    medians = interleaved_medians({"slow": sleeper("slow", 0.02), "fast": sleeper("fast", 0.002)}, rounds=3, warmup=1)
    assert medians["slow"] > 4 * medians["fast"]
    assert calls == ["fast", "slow", "slow", "fast", "fast", "slow", "slow", "fast"]  # 1 warm-up + 3 rounds


def test_matmul_peak_is_a_plausible_rate():
    assert 0.1 < matmul_peak_gflops(rounds=1) < 1e6
