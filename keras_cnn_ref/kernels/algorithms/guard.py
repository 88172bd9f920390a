"""What every algorithm offers, and the one guard that stands in front of any of them.

Each algorithm computes one correlation of a padded channels-last batch,
`(N, *Sp, C) x (*K, C/G, F) -> (N, *O, F)`, built from the shapes alone
(`Correlation`). Some meet the data with values that are not the
correlation's terms: banded rows with the band's zeros, minimal filtering
with its transforms, kn2row's backward pass with a stack that is zero where
a tap read nothing. There one Inf or NaN would leave its own windows (`0 *
inf` is NaN). Each algorithm says which operands it mixes so (`mixed`), and
`Guarded` runs it only where those are finite, the tap loop (the
definition) elsewhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import jax
import jax.numpy as jnp
from jax import lax

from ..plan import Algorithm

Grads = tuple[jax.Array | None, jax.Array | None]


def unfinished(sums: jax.Array) -> jax.Array:
    """The default `finish`: the sums as they are."""
    return sums


class Correlation(Protocol):
    """One correlation by one algorithm: its forward pass, and a VJP that computes the gradients it is asked for."""

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        """The sums, `(N, *O, F)` in `plan.sum_dtype`, each part passed through `finish` (rounding, bias)."""
        ...

    def backward(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]) -> Grads:
        """The padded input's gradient and the kernel's, from the output's; None for each one not in `wants`."""
        ...

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """The operands whose Inf or NaN would spread past its own windows: of `(padded, kernel)` in the forward
        pass (`wants` None), of `(padded, kernel, out_grad)` for the gradients in `wants`."""
        ...


class ByGradients:
    """`backward` for an algorithm that computes its two gradients apart: `input_grad` and `kernel_grad`."""

    def backward(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]) -> Grads:
        """`input_grad` and `kernel_grad`, None for each one not in `wants`."""
        return (
            self.input_grad(padded, kernel, out_grad) if wants[0] else None,
            self.kernel_grad(padded, out_grad) if wants[1] else None,
        )


class Guarded:
    """`algorithm` where the operands it mixes are finite, `fallback` (the tap loop) where one is not.

    An algorithm that mixes nothing runs as it is: no `lax.cond`, no check.
    The fallback's branch runs in a scope of its own name, so
    `_choice.algorithms_run` sees it traced.
    """

    def __init__(self, algorithm: Correlation, fallback: Correlation):
        self.algorithm, self.fallback = algorithm, fallback

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        run, instead = (functools.partial(a.forward, finish=finish) for a in (self.algorithm, self.fallback))
        return _guard(self.algorithm.mixed(), run, instead, padded, kernel)

    def backward(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]) -> Grads:
        run, instead = (functools.partial(a.backward, wants=wants) for a in (self.algorithm, self.fallback))
        return _guard(self.algorithm.mixed(wants), run, instead, padded, kernel, out_grad)

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        return ()  # what it mixes runs only on finite values


def _guard(mixed: tuple[int, ...], run: Callable, instead: Callable, *operands: jax.Array):
    """`run(*operands)` if the operands at `mixed` are finite, else `instead(*operands)` in the tap loop's scope."""
    if not mixed:
        return run(*operands)

    def fallback(*operands):
        with jax.named_scope(Algorithm.TAP_LOOP.value):
            return instead(*operands)

    finite = jnp.stack([jnp.isfinite(operands[i]).all() for i in mixed]).all()
    return lax.cond(finite, run, fallback, *operands)
