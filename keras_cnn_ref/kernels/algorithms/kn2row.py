"""kn2row: multiply first, then add the taps' shifted products (Vasudevan et al., 2017), for few filters.

im2col copies every tap's window of the input, `T * C` values a position,
and then multiplies. With few filters the copy is most of the work: a 7x7
convolution from 128 channels to 1 copies 49 x 128 values to compute one.
kn2row multiplies the whole padded input once by every tap's weights side
by side, `(C, T * F)`, and then adds each tap's strided window of that
product, `T * F` values a position. Each output position sums its taps in
the same order, one tap's channels at a time, so its round-off is the same
everywhere (the `exact` policy allows it).

The backward pass has the same shape. The output gradient, spread back to
where each tap read it and stacked over the taps, `(N, *Sp, T * F)`, times
the weights transposed is the input gradient; the input, transposed, times
that stack is the kernel gradient. Each is one product. The stack holds
zeros where a tap read nothing, and those meet the kernel (input gradient)
and the input (kernel gradient), so an Inf or NaN there would turn a zero
into NaN: the caller must see that they are finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from ..geometry import ConvGeometry, is_static, tap_window, window_offsets
from ..plan import sum_dtype
from .guard import unfinished


def uses_kn2row(padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry) -> bool:
    """Whether a correlation of one group has so few filters that kn2row's product is thinner than im2col's
    columns: at most 16 filters, and at most a quarter of the input's channels.

    >>> uses_kn2row((4, 34, 34, 128), (7, 7, 128, 1), ConvGeometry((7, 7), (1, 1), (1, 1), 1, (28, 28)))
    True
    """
    return (
        can_kn2row(padded_shape, kernel_shape, geometry)
        and kernel_shape[-1] <= 16
        and 4 * kernel_shape[-1] <= kernel_shape[-2]
    )


def can_kn2row(padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry) -> bool:
    """One group, more than one tap, static shapes."""
    return geometry.groups == 1 and math.prod(geometry.window) > 1 and is_static((*padded_shape, *geometry.out_spatial))


class Kn2row:
    """One correlation, `(N, *Sp, C) x (*K, C, F) -> (N, *O, F)` over a padded input, by kn2row."""

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.padded_shape, self.geometry = tuple(padded_shape), geometry
        self.taps, self.filters = math.prod(geometry.window), kernel_shape[-1]
        # Where each tap starts reading, batch and channels included.
        self.offsets = [(0, *offset, 0) for offset in window_offsets(geometry.window, geometry.dilation)]
        self.strides = (1, *geometry.strides, 1)
        self.out_shape = (padded_shape[0], *geometry.out_spatial, kernel_shape[-1])

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        """The sums, in `sum_dtype`: each tap's window of the product, added in the taps' order."""
        rank = padded.ndim - 1
        products = lax.dot_general(
            padded, self._weights(kernel), (((rank,), (0,)), ((), ())), preferred_element_type=sum_dtype(padded)
        )  # (N, *Sp, T*F)
        out = None
        for t, offset in enumerate(self.offsets):
            tap = tap_window(
                products[..., t * self.filters : (t + 1) * self.filters], offset, self.out_shape, self.strides
            )
            out = tap if out is None else out + tap  # (N, *O, F)
        return finish(out)

    def backward(
        self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]
    ) -> tuple[jax.Array | None, jax.Array | None]:
        """The padded input's gradient in its dtype and the kernel's in `sum_dtype` (None where not in `wants`).

        The stack is laid out taps and filters first, `(T*F, N, *Sp)`: each
        tap's spread is then whole rows of positions.
        """
        rank, dtype = padded.ndim - 1, sum_dtype(padded)
        spread = self._spread(jnp.moveaxis(out_grad.astype(padded.dtype), -1, 0))  # (T*F, N, *Sp)
        positions = tuple(range(1, rank + 1))
        padded_grad = kernel_grad = None
        if wants[0]:
            padded_grad = lax.dot_general(
                spread, self._weights(kernel), (((0,), (1,)), ((), ())), preferred_element_type=dtype
            ).astype(padded.dtype)  # (N, *Sp, C)
        if wants[1]:
            grad = lax.dot_general(
                spread, padded, ((positions, tuple(range(rank))), ((), ())), preferred_element_type=dtype
            )  # (T*F, C)
            grad = grad.reshape(self.taps, self.filters, grad.shape[-1]).transpose(0, 2, 1)  # (T, C, F)
            kernel_grad = grad.reshape(*self.geometry.window, *grad.shape[1:])  # (*K, C, F)
        return padded_grad, kernel_grad

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """Forward, nothing (the definition's terms); backward, the stack's zeros meet the kernel (input gradient)
        and the input (kernel gradient)."""
        return () if wants is None else (1,) * wants[0] + (0,) * wants[1]

    def _weights(self, kernel: jax.Array) -> jax.Array:
        """`(*K, C, F)` as `(C, T * F)`: every tap's weights side by side, tap-major."""
        taps = kernel.reshape(self.taps, *kernel.shape[-2:])  # (T, C, F)
        return taps.transpose(1, 0, 2).reshape(kernel.shape[-2], self.taps * self.filters)  # (C, T*F)

    def _spread(self, out_grad: jax.Array) -> jax.Array:
        """The output gradient `(F, N, *O)` where each tap read it, zero elsewhere, stacked: `(T*F, N, *Sp)`."""
        zero = jnp.zeros((), out_grad.dtype)
        spread = []
        for offset in self.offsets:
            config = [
                (start, size - (start + (n - 1) * s + 1), s - 1)
                for start, n, size, s in zip(
                    offset[1:-1], out_grad.shape[2:], self.padded_shape[1:-1], self.strides[1:-1]
                )
            ]
            spread.append(lax.pad(out_grad, zero, [(0, 0, 0), (0, 0, 0), *config]))  # (F, N, *Sp)
        return jnp.concatenate(spread, axis=0)  # (T*F, N, *Sp)
