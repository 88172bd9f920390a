"""Interleaved timing: every contender runs once per round; medians, and ratios paired within a round."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

MATMUL_SIZE = 2048


# A sample of a fast contender times calls in a row until they fill this long.
MIN_SAMPLE_S = 0.01


def interleaved_samples(
    contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1, min_sample_s: float = MIN_SAMPLE_S
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one sample per round, run in turn each round.

    Every call is waited on (`jax.block_until_ready`), and `warmup` rounds
    first compile and settle caches. The last warm-up round also counts how
    many calls in a row fill `min_sample_s`, and each sample of that
    contender times that many: a 1 ms call is timed 10 at a time, so the
    timer and a stray interrupt weigh less. Interleaving spreads the
    machine's noise over all contenders alike; the order reverses every
    round, so no contender always runs first, and neighbours in `contenders`
    always run back to back (see `paired_speedup`).
    """
    samples = {name: [] for name in contenders}
    repeats = dict.fromkeys(contenders, 1)
    order = list(contenders.items())
    for round_index in range(warmup + rounds):
        for name, run in order if round_index % 2 else order[::-1]:
            start = time.perf_counter()
            for _ in range(repeats[name]):
                jax.block_until_ready(run())
            seconds = (time.perf_counter() - start) / repeats[name]
            if round_index == warmup - 1:
                repeats[name] = max(1, math.ceil(min_sample_s / seconds))
            elif round_index >= warmup:
                samples[name].append(seconds)
    return samples


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    """The median of each contender's samples."""
    return {name: statistics.median(times) for name, times in samples.items()}


def interleaved_medians(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict:
    """The median of each contender's `interleaved_samples`."""
    return medians(interleaved_samples(contenders, rounds, warmup))


def paired_speedup(reference: list[float], ours: list[float]) -> float:
    """The median, over rounds, of `reference / ours` timed back to back in the same round.

    A burst of load on a shared machine slows both calls of a pair, so each
    round's ratio holds when its absolute times do not; the median then
    drops the rounds a burst split.

    >>> paired_speedup([2.0, 9.0, 2.2], [1.0, 1.0, 1.1])
    2.0
    """
    return statistics.median(r / o for r, o in zip(reference, ours, strict=True))


def matmul_peak_gflops(rounds: int = 5) -> float:
    """GFLOP/s of a float32 `jnp.dot` of two 2048x2048 matrices: the machine's practical peak."""
    a = jnp.ones((MATMUL_SIZE, MATMUL_SIZE), jnp.float32)
    dot = jax.jit(jnp.dot)
    seconds = interleaved_medians({"dot": lambda: dot(a, a)}, rounds)["dot"]
    return 2 * MATMUL_SIZE**3 / seconds / 1e9
