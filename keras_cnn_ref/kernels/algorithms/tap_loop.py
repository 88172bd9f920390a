"""The tap loop: the correlation's definition, one tap a step (`Algorithm.TAP_LOOP`).

Each step adds one tap's strided window of the padded input times that
tap's `(C, F)` weights. Its round-off is the same at every output position,
no operand meets a zero it should not, and its one loop body compiles
quickly: it is the fallback wherever another algorithm mixes values that
may hold an Inf or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..geometry import ConvGeometry, window_offsets
from ..plan import sum_dtype
from .guard import ByGradients, unfinished


class TapLoop(ByGradients):
    """The fallback of the band and of minimal filtering, one group: the correlation's definition, a tap per step.

    The forward pass adds each tap's strided window times the tap's weights;
    the input gradient adds the output gradient times them back where that
    window was read, and the kernel gradient contracts the two. No operand
    meets a zero it should not, so an Inf or NaN stays in its own windows.
    It runs slower, but only on non-finite data, and its one loop body costs
    XLA a fraction of im2col's compile time, which every guarded layer's
    `lax.cond` pays (docs/performance.md).
    """

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.geometry, self.taps = geometry, math.prod(geometry.window)
        # Where each tap starts reading, batch and channels included: (T, rank + 2).
        self.starts = np.array(
            [(0, *offset, 0) for offset in window_offsets(geometry.window, geometry.dilation)], np.int32
        )
        # What one tap's window spans of the padded input before its stride is taken.
        extent = ((n - 1) * stride + 1 for n, stride in zip(geometry.out_spatial, geometry.strides))
        self.window_shape = (padded_shape[0], *extent, padded_shape[-1])

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        taps, dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), sum_dtype(padded)  # (T, C, F)

        def add_tap(t, sums):
            window = self._window(padded, t)  # (N, *O, C)
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            return sums + lax.dot_general(
                window, weights, (((window.ndim - 1,), (0,)), ((), ())), preferred_element_type=dtype
            )

        sums = jnp.zeros((padded.shape[0], *self.geometry.out_spatial, kernel.shape[-1]), dtype)  # (N, *O, F)
        return finish(lax.fori_loop(0, self.taps, add_tap, sums))

    def input_grad(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array) -> jax.Array:
        """`padded` gives only the shape and dtype."""
        taps, dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), sum_dtype(padded)  # (T, C, F)
        spread_out = [(0, 0, 0), *((0, 0, stride - 1) for stride in self.geometry.strides), (0, 0, 0)]

        def add_tap(t, grad):
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            window_grad = lax.dot_general(
                out_grad, weights, (((out_grad.ndim - 1,), (1,)), ((), ())), preferred_element_type=dtype
            )  # (N, *O, C)
            window_grad = lax.pad(window_grad, jnp.zeros((), dtype), spread_out)  # (N, *window extent, C)
            start = self._start(t)
            added = lax.dynamic_slice(grad, start, self.window_shape, allow_negative_indices=False) + window_grad
            return lax.dynamic_update_slice(grad, added, start, allow_negative_indices=False)

        grad = lax.fori_loop(0, self.taps, add_tap, jnp.zeros(padded.shape, dtype))
        return grad.astype(padded.dtype)

    def kernel_grad(self, padded: jax.Array, out_grad: jax.Array) -> jax.Array:
        """`(*K, C, F)`, in `sum_dtype`: each tap's window contracted with the output gradient over the positions."""
        positions = tuple(range(padded.ndim - 1))

        def tap_grad(t, grads):
            grad = lax.dot_general(
                self._window(padded, t),
                out_grad,
                ((positions, positions), ((), ())),
                preferred_element_type=grads.dtype,
            )  # (C, F)
            return lax.dynamic_update_index_in_dim(grads, grad, t, 0)

        grads = jnp.zeros((self.taps, padded.shape[-1], out_grad.shape[-1]), sum_dtype(padded))  # (T, C, F)
        return lax.fori_loop(0, self.taps, tap_grad, grads).reshape(*self.geometry.window, *grads.shape[1:])

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """Nothing: each operand meets only its own windows' terms."""
        return ()

    def _window(self, padded: jax.Array, t: jax.Array) -> jax.Array:
        """Tap `t`'s strided window, `(N, *O, C)`."""
        span = lax.dynamic_slice(padded, self._start(t), self.window_shape, allow_negative_indices=False)
        return lax.slice(span, (0,) * span.ndim, span.shape, (1, *self.geometry.strides, 1))

    def _start(self, t: jax.Array) -> jax.Array:
        """Where tap `t` starts reading: row `t` of `self.starts`."""
        return lax.dynamic_index_in_dim(self.starts, t, keepdims=False)
