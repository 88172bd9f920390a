"""Depthwise correlation written elementwise: each tap's window times that tap's weights, channel by channel.

A correlation with one input channel per group (`groups` = channels,
Keras's depthwise convolution) has nothing to contract but the taps: each
output channel `c * M + m` is input channel `c`'s windows times filter
`m`'s weights, summed over the taps. im2col would run it as `C` tiny
batched products of `taps` terms each; written as a sum of broadcast
products, XLA fuses the whole window into one pass over the output instead
(docs/performance.md, step 17). The backward pass is the same arithmetic
turned around: each tap's share of the output gradient added back where its
window was read, and each tap's weights' gradient a sum over positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..geometry import ConvGeometry, tap_window, window_offsets
from ..plan import sum_dtype
from .guard import unfinished


def uses_channelwise(
    padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry, max_taps: float
) -> bool:
    """Whether a correlation is depthwise (one input channel per group, two groups or more) with at most `max_taps` taps.

    One input channel alone is left to the band or im2col, which its filters keep busy.

    >>> uses_channelwise((2, 9, 9, 8), (3, 3, 1, 16), ConvGeometry((3, 3), (1, 1), (1, 1), 8, (7, 7)), 64)
    True
    """
    taps = 1
    for size in geometry.window:
        taps *= size
    return kernel_shape[-2] == 1 and geometry.groups == padded_shape[-1] > 1 and taps <= max_taps


class Channelwise:
    """The forward and backward passes of one depthwise correlation, `(N, *Sp, C) x (*K, 1, C*M)`."""

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.padded_shape, self.geometry = tuple(padded_shape), geometry
        self.channels = padded_shape[-1]
        self.multiplier = kernel_shape[-1] // self.channels
        self.offsets = [(0, *offset, 0) for offset in window_offsets(geometry.window, geometry.dilation)]
        self.window_shape = (padded_shape[0], *geometry.out_spatial, self.channels)  # (N, *O, C)
        self.strides = (1, *geometry.strides, 1)

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        dtype = sum_dtype(padded)
        weights = self._weights(kernel).astype(dtype)  # (T, C, M)
        sums = sum(
            self._window(padded, offset).astype(dtype)[..., None] * weights[t]  # (N, *O, C, M)
            for t, offset in enumerate(self.offsets)
        )
        return finish(sums.reshape(*sums.shape[:-2], -1))  # (N, *O, C*M)

    def backward(
        self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]
    ) -> tuple[jax.Array | None, jax.Array | None]:
        """The padded input's gradient and the kernel's, from the output's; None for each one not in `wants`."""
        dtype = sum_dtype(padded)
        grouped = out_grad.astype(dtype).reshape(*out_grad.shape[:-1], self.channels, self.multiplier)  # (N, *O, C, M)
        padded_grad = kernel_grad = None
        if wants[0]:
            weights = self._weights(kernel).astype(dtype)  # (T, C, M)
            padded_grad = self._input_grad(grouped, weights).astype(padded.dtype)
        if wants[1]:
            weights_grad = self._weights_grad(padded.astype(dtype), grouped)  # (T, C, M)
            kernel_grad = weights_grad.reshape(kernel.shape).astype(kernel.dtype)
        return padded_grad, kernel_grad

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """Nothing: each operand meets only its own windows' terms."""
        return ()

    def _weights_grad(self, padded: jax.Array, grouped: jax.Array) -> jax.Array:
        """Each tap's window times the output gradient, summed over the positions: `(T, C, M)`.

        A tap a step of a `fori_loop`: XLA stores a product before summing
        it over the positions, and every tap's at once took 1.6 GiB for a
        7x7 window on a 512x512x32 image; one at a time, 34 MiB.
        """
        starts = jnp.asarray(np.array(self.offsets, np.int32))  # (T, rank + 2)
        extent = (
            self.padded_shape[0],
            *((n - 1) * s + 1 for n, s in zip(self.geometry.out_spatial, self.geometry.strides)),
            self.channels,
        )
        positions = tuple(range(grouped.ndim - 2))

        def add_tap(t, grads):
            span = lax.dynamic_slice(padded, lax.dynamic_index_in_dim(starts, t, keepdims=False), extent)
            window = lax.slice(span, (0,) * span.ndim, span.shape, self.strides)  # (N, *O, C)
            return lax.dynamic_update_index_in_dim(grads, (window[..., None] * grouped).sum(axis=positions), t, 0)

        return lax.fori_loop(
            0, len(self.offsets), add_tap, jnp.zeros((len(self.offsets), *grouped.shape[-2:]), grouped.dtype)
        )

    def _input_grad(self, grouped: jax.Array, weights: jax.Array) -> jax.Array:
        """Each tap's weights times the output gradient, added back where the tap read.

        Each product is spread `stride` apart and padded out to the input's
        shape where its tap read (zeros placed after the product, so they
        never meet a weight: an Inf weight stays in its own windows), and
        the `T * M` of them are summed: one fused pass over the input, in
        flat memory, like the forward pass.
        """
        zero = jnp.zeros((), grouped.dtype)
        spatial, out, strides = self.padded_shape[1:-1], self.geometry.out_spatial, self.geometry.strides
        configs = [
            [
                (0, 0, 0),
                *((o, size - o - (n - 1) * s - 1, s - 1) for o, size, n, s in zip(offset[1:-1], spatial, out, strides)),
                (0, 0, 0),
            ]
            for offset in self.offsets
        ]
        # One sum of T * M padded products, no reduction: XLA fuses it into one pass (a sum over M stored each product).
        return sum(
            lax.pad(grouped[..., m] * weights[t, :, m], zero, config)  # (N, *Sp, C)
            for m in range(self.multiplier)
            for t, config in enumerate(configs)
        )

    def _window(self, padded: jax.Array, offset: tuple[int, ...]) -> jax.Array:
        return tap_window(padded, offset, self.window_shape, self.strides)  # (N, *O, C)

    def _weights(self, kernel: jax.Array) -> jax.Array:
        return kernel.reshape(len(self.offsets), self.channels, self.multiplier)  # (T, C, M)
