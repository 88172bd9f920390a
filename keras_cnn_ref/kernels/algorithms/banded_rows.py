"""Banded rows: a small image's convolution as one matrix product per pass.

The kernel's rows are taps along the height: each output row `oh` reads the
input rows `oh * stride + i * dilation`. Those rows, whole width and all
channels, are laid side by side: `(N * OH, KH * Wp * C)`. Along the width
the kernel becomes a banded matrix `(KH * Wp * C, OW * F)`, where input
column `w` meets output column `ow` with weight `kernel[i, j]` if
`w == ow * stride + j * dilation`, and zero elsewhere.

Every pass is then a single well-shaped matrix product: the forward pass
(rows times band), the kernel gradient (rows, transposed, times the output
gradient, read off the band's diagonals) and the input gradient (output gradient
times the band, transposed, added back row by row). The band spends
`Wp / KW` times the multiply-adds of the convolution, so it pays only where
channels are few and images narrow, as in the MNIST model: there a 3x3
convolution's columns would hold 9 x 1 values per pixel, far too thin for a
matrix product to run well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from ..geometry import ConvGeometry, add_windows_back, dilated_extent, is_static, tap_window
from ..plan import sum_dtype
from .guard import ByGradients, unfinished


def uses_band(
    padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry, max_weights: float
) -> bool:
    """Whether a 2-D correlation with one group has a band of at most `max_weights` (`Tactics.band_max_weights`).

    >>> uses_band((128, 28, 28, 1), (3, 3, 1, 4), ConvGeometry((3, 3), (1, 1), (1, 1), 1, (26, 26)), 2**16)
    True
    """
    if len(geometry.window) != 2 or geometry.groups != 1 or not is_static((*padded_shape, *geometry.out_spatial)):
        return False
    kernel_h, _, channels, filters = kernel_shape
    return kernel_h * padded_shape[2] * channels * geometry.out_spatial[1] * filters <= max_weights


class BandedRows(ByGradients):
    """The forward and backward passes of one correlation, by banded rows.

    Every operand value meets only the weights of its own windows: the band
    is laid out by padding and tiling the kernel, never by multiplying a
    weight by a 0/1 mask, and the kernel gradient is read off the band's
    diagonals by the same tiling undone. So an Inf or NaN in the kernel, or
    in the input on the way back, stays in its own windows. Only the forward
    pass's input and the input gradient's output gradient meet the band's
    zeros: one Inf or NaN there spreads along its row (`0 * inf` is NaN), and
    the caller must see that they are finite.
    """

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.padded_shape, self.kernel_shape, self.geometry = tuple(padded_shape), tuple(kernel_shape), geometry
        (stride_h, self.stride_w), (dilation_h, self.dilation_w) = geometry.strides, geometry.dilation
        self.row_offsets = [(0, i * dilation_h, 0, 0) for i in range(geometry.window[0])]
        self.row_strides = (1, stride_h, 1, 1)

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        out = _product(self._rows(padded), self._band(kernel))  # (N*OH, OW*F)
        return finish(
            out.reshape(self.padded_shape[0], *self.geometry.out_spatial, self.kernel_shape[3])
        )  # (N, OH, OW, F)

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """The band's zeros meet the forward pass's input and the input gradient's output gradient."""
        return (0,) if wants is None else (2,) * wants[0]

    def kernel_grad(self, padded: jax.Array, out_grad: jax.Array) -> jax.Array:
        """Rows, transposed, times the output gradient: each band entry's sum, read off the diagonals.

        Output column `ow` meets input column `w` through kernel column `j`
        where `w = ow * stride + j * dilation`. Flattened, padded with
        `OW * stride` zeros and folded into rows of `Wp + stride`, the band's
        `(OW, Wp)` entries start row `ow` at its own first tap,
        `(ow, ow * stride)`, with its other taps every `dilation` entries.
        """
        batch, out_h, out_w, filters = out_grad.shape
        kernel_h, kernel_w, channels, _ = self.kernel_shape
        width = self.padded_shape[2]
        flat_grad = out_grad.reshape(batch * out_h, out_w * filters)  # (N*OH, OW*F)
        band_grad = _product(self._rows(padded).T, flat_grad).reshape(kernel_h, width, channels, out_w, filters)
        entries = band_grad.transpose(0, 2, 4, 3, 1).reshape(kernel_h, channels, filters, -1)  # (KH, C, F, OW*Wp)
        widened = lax.pad(entries, jnp.zeros((), entries.dtype), [(0, 0, 0)] * 3 + [(0, out_w * self.stride_w, 0)])
        skewed = widened.reshape(kernel_h, channels, filters, out_w, width + self.stride_w)  # (KH, C, F, OW, Wp+s)
        extent = dilated_extent(kernel_w, self.dilation_w)
        on_band = lax.slice_in_dim(skewed, 0, extent, self.dilation_w, axis=4)  # (KH, C, F, OW, KW)
        return on_band.sum(axis=3).transpose(0, 3, 1, 2)  # (KH, KW, C, F)

    def input_grad(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array) -> jax.Array:
        """The output gradient times the band, transposed, added back row by row (`padded` gives only the shape)."""
        batch, out_h, out_w, filters = out_grad.shape
        kernel_h, _, channels, _ = self.kernel_shape
        flat_grad = out_grad.reshape(batch * out_h, out_w * filters)  # (N*OH, OW*F)
        rows_grad = _product(flat_grad, self._band(kernel).T).reshape(batch, out_h, kernel_h, -1, channels)
        windows = [rows_grad[:, :, i] for i in range(kernel_h)]  # each (N, OH, Wp, C)
        return add_windows_back(windows, self.row_offsets, self.row_strides, padded.shape).astype(padded.dtype)

    def _rows(self, padded: jax.Array) -> jax.Array:
        """Every kernel row's input rows, side by side: `(N*OH, KH*Wp*C)`."""
        batch, _, width, channels = self.padded_shape
        out_h = self.geometry.out_spatial[0]
        rows = [
            tap_window(padded, offset, (batch, out_h, width, channels), self.row_strides) for offset in self.row_offsets
        ]  # each (N, OH, Wp, C)
        return jnp.stack(rows, axis=2).reshape(batch * out_h, -1)  # (N*OH, KH*Wp*C)

    def _band(self, kernel: jax.Array) -> jax.Array:
        """The kernel along the width as a banded matrix: `(KH*Wp*C, OW*F)`.

        Each kernel row, dilated and padded with zeros to `Wp + stride`
        columns, repeats `OW` times end to end; cut back to `OW * Wp` columns
        and folded into `(OW, Wp)`, each repeat then starts `stride` columns
        further along than the one before: output column `ow`'s taps.
        """
        kernel_h, kernel_w, channels, filters = self.kernel_shape
        width, out_w = self.padded_shape[2], self.geometry.out_spatial[1]
        extent = dilated_extent(kernel_w, self.dilation_w)
        zero = jnp.zeros((), kernel.dtype)
        row = lax.pad(
            kernel, zero, [(0, 0, 0), (0, width + self.stride_w - extent, self.dilation_w - 1), (0, 0, 0), (0, 0, 0)]
        )  # (KH, Wp+s, C, F)
        repeated = lax.slice_in_dim(jnp.tile(row, (1, out_w, 1, 1)), 0, out_w * width, axis=1)  # (KH, OW*Wp, C, F)
        band = repeated.reshape(kernel_h, out_w, width, channels, filters)  # (KH, OW, Wp, C, F)
        return band.transpose(0, 2, 3, 1, 4).reshape(kernel_h * width * channels, -1)  # (KH*Wp*C, OW*F)


def _product(a: jax.Array, b: jax.Array) -> jax.Array:
    """`a @ b` summed in `sum_dtype`: float32 for 16-bit operands, which an accelerator multiplies as they are."""
    return lax.dot_general(a, b, (((1,), (0,)), ((), ())), preferred_element_type=sum_dtype(a))
