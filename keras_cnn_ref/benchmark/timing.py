"""Interleaved timing: every contender runs once per round, the medians compare."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

MATMUL_SIZE = 2048


def interleaved_medians(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict:
    """Median seconds of each contender over `rounds`, run in turn each round.

    Every call is waited on (`jax.block_until_ready`), and `warmup` rounds
    first compile and settle caches. Interleaving spreads the machine's
    noise over all contenders alike, so their ratios hold even when absolute
    times drift; the order reverses every round, so no contender always
    runs first.
    """
    times = {name: [] for name in contenders}
    order = list(contenders.items())
    for round_index in range(warmup + rounds):
        for name, run in order if round_index % 2 else order[::-1]:
            start = time.perf_counter()
            jax.block_until_ready(run())
            if round_index >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def matmul_peak_gflops(rounds: int = 5) -> float:
    """GFLOP/s of a float32 `jnp.dot` of two 2048x2048 matrices: the machine's practical peak."""
    a = jnp.ones((MATMUL_SIZE, MATMUL_SIZE), jnp.float32)
    dot = jax.jit(jnp.dot)
    seconds = interleaved_medians({"dot": lambda: dot(a, a)}, rounds)["dot"]
    return 2 * MATMUL_SIZE**3 / seconds / 1e9
