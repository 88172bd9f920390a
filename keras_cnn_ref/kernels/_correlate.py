"""The convolution core: a padded channels-last batch (1-3 spatial axes), one hand-written VJP.

`correlate` sums, over the kernel's taps, each tap's strided window of the
already padded input times that tap's weights. The windows are laid side by
side ("im2col"), so that one `dot_general` contracts taps and channels
together. The backward pass is written out rather than left to autodiff: the
kernel gradient is the columns contracted with the output gradient, and the
input gradient is the output gradient times the weights, added back where
each tap's window was read. Columns are built a few images at a time, so the
copy stays a few MiB whatever the batch.

Where the tactics allow (a CPU's do), small images with few channels run
as banded rows instead (`_banded.py`).
The band's zeros meet the data in two products, the forward pass's and the
input gradient's; each falls back to a loop over the taps (`_TapLoop`, the
correlation's definition) when its operand holds an Inf or NaN.
docs/performance.md records what else was measured and why these won.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._banded import BandedRows, uses_band
from ._geometry import ConvGeometry, Pads, add_windows_back, tap_window, window_offsets
from ._plan import Plan, Tactics, on_each_platform


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def correlate(x: jax.Array, kernel: jax.Array, bias: jax.Array | None, pads: Pads, geometry: ConvGeometry,
              plan: Plan) -> jax.Array:
    """`(N, *S, C) x (*K, C/G, F) -> (N, *O, F)`: `x` padded by `pads` (edges only), in the kernel's dtype.

    The sums are rounded once to the kernel's dtype, and `bias` (`(F,)`, in
    that dtype, or None) is then added, a chunk at a time, while each chunk
    of the output is still in cache. Each platform takes its own tactics
    (`on_each_platform`), inside the VJP: autodiff never meets the platform
    switch, whose residuals would otherwise be every platform's at once.
    """
    forward = functools.partial(_forward, pads=pads, geometry=geometry)
    return on_each_platform(forward, plan, x, kernel, bias)


def _forward(x: jax.Array, kernel: jax.Array, bias: jax.Array | None, *, pads: Pads, geometry: ConvGeometry,
             tactics: Tactics) -> jax.Array:
    padded, operand_kernel = _operands(x, kernel, pads, tactics)
    finish = functools.partial(_finish, bias=bias, out_dtype=kernel.dtype)
    shapes = (padded.shape, kernel.shape, geometry)
    if not uses_band(*shapes, tactics.band_max_weights):
        im2col = _Im2col(*shapes, padded.dtype.itemsize, tactics.chunk_bytes)
        return im2col.forward(padded, operand_kernel, finish)
    # A small image's sums leave the branch in memory anyway; the bias joins them
    # after it, which keeps it out of both branches and their compile time.
    band, taps = BandedRows(*shapes), _TapLoop(*shapes)
    return finish(lax.cond(_all_finite(padded), band.forward, taps.forward, padded, operand_kernel))


def _correlate_forward(x, kernel, bias, pads, geometry, plan):
    return correlate(x, kernel, bias, pads, geometry, plan), (x, kernel, bias)


def _correlate_backward(pads: Pads, geometry: ConvGeometry, plan: Plan, residuals, out_grad: jax.Array):
    x, kernel, bias = residuals
    bias_grad = None if bias is None else _broadcast_transpose(out_grad, bias)
    backward = functools.partial(_backward, pads=pads, geometry=geometry)
    return *on_each_platform(backward, plan, x, kernel, out_grad), bias_grad


def _backward(x: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, pads: Pads, geometry: ConvGeometry,
              tactics: Tactics) -> tuple[jax.Array, jax.Array]:
    padded, operand_kernel = _operands(x, kernel, pads, tactics)
    out_grad = out_grad.astype(padded.dtype)  # the transpose of rounding to the kernel's dtype
    shapes = (padded.shape, kernel.shape, geometry)
    if not uses_band(*shapes, tactics.band_max_weights):
        im2col = _Im2col(*shapes, padded.dtype.itemsize, tactics.chunk_bytes)
        padded_grad, kernel_grad = im2col.backward(padded, operand_kernel, out_grad)
    else:
        band, taps = BandedRows(*shapes), _TapLoop(*shapes)
        padded_grad = lax.cond(_all_finite(out_grad), band.input_grad, taps.input_grad, padded, operand_kernel,
                               out_grad)
        kernel_grad = band.kernel_grad(padded, out_grad)
    unpadded = tuple(slice(before, before + size) for size, (before, _) in zip(x.shape, ((0, 0), *pads, (0, 0))))
    return padded_grad[unpadded].astype(x.dtype), kernel_grad.astype(kernel.dtype)


correlate.defvjp(_correlate_forward, _correlate_backward)


def _operands(x: jax.Array, kernel: jax.Array, pads: Pads, tactics: Tactics) -> tuple[jax.Array, jax.Array]:
    """`x` padded and the kernel, in the dtype the products take them in: widened first, then padded."""
    operand_dtype = operand_dtype_for(kernel.dtype, tactics)
    x = x.astype(operand_dtype)
    padded = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), *((*pad, 0) for pad in pads), (0, 0, 0)])
    return padded, kernel.astype(operand_dtype)


def operand_dtype_for(dtype: jnp.dtype, tactics: Tactics) -> jnp.dtype:
    """The dtype the products take their operands in.

    A CPU widens 16-bit floats to float32 first. An accelerator (GPU, TPU)
    multiplies them as they are (`Tactics.narrow_operands`): each product of
    two 16-bit floats is exact in float32, its sums are float32 all the same,
    and its columns move half the bytes. The 3x3 56x56x64 bfloat16 forward
    pass ran 1.2x faster on an H100.
    """
    if jnp.issubdtype(dtype, jnp.floating) and tactics.narrow_operands:
        return dtype
    return jnp.promote_types(dtype, jnp.float32)


def _finish(out: jax.Array, *, bias: jax.Array | None, out_dtype: jnp.dtype) -> jax.Array:
    """Rounds a chunk of sums to `out_dtype`, then adds the bias, as Keras's layers do after their convolution."""
    out = out.astype(out_dtype)
    return out if bias is None else out + bias


def _broadcast_transpose(out_grad: jax.Array, bias: jax.Array) -> jax.Array:
    """The bias's gradient exactly as autodiff gives it for `out + bias`: the broadcast's transpose."""
    return jax.vjp(lambda b: jnp.broadcast_to(b, out_grad.shape), bias)[1](out_grad)[0]


def _sum_dtype(operand: jax.Array) -> jnp.dtype:
    """Products of 16-bit operands are summed in float32 (see `operand_dtype_for`)."""
    return jnp.promote_types(operand.dtype, jnp.float32)


def _all_finite(x: jax.Array) -> jax.Array:
    """Whether banded rows may take `x`: one Inf or NaN would spread along its row (see `BandedRows`)."""
    return jnp.isfinite(x).all()


def _tap_windows(padded: jax.Array, geometry: ConvGeometry) -> list[jax.Array]:
    """Every tap's strided window, grouped: `[(N, *O, G, C/G)] * taps`."""
    batch, *spatial, channels = padded.shape
    groups = geometry.groups
    grouped = padded.reshape(batch, *spatial, groups, channels // groups)  # (N, *Sp, G, C/G)
    out_shape = (batch, *geometry.out_spatial, groups, channels // groups)
    strides = (1, *geometry.strides, 1, 1)
    offsets = window_offsets(geometry.window, geometry.dilation)
    return [tap_window(grouped, (0, *offset, 0, 0), out_shape, strides) for offset in offsets]


class _Im2col:
    """Taps laid side by side, so one `dot_general` contracts taps and channels.

    The columns of `b` images are `(b, *O, G, T * C/G)`, `itemsize` bytes a
    value (the operands' dtype); the loop over the batch takes the largest
    `b` dividing it whose columns fit `chunk_bytes` (`Tactics.chunk_bytes`).
    Under a sharded batch it runs inside each shard (`_plan.per_shard`), so
    the loop never crosses the sharded axis.
    The backward pass rebuilds each chunk's columns rather than keeping all
    of them.
    """

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry,
                 itemsize: int, chunk_bytes: int):
        self.geometry = geometry
        self.rank = len(geometry.window)
        self.offsets = window_offsets(geometry.window, geometry.dilation)
        *_, self.group_channels, filters = kernel_shape
        self.group_filters = filters // geometry.groups
        image_bytes = math.prod(geometry.out_spatial) * len(self.offsets) * padded_shape[-1] * itemsize
        batch = padded_shape[0]
        fitting = [b for b in range(1, batch + 1) if batch % b == 0 and b * image_bytes <= chunk_bytes]
        self.chunk = max(fitting, default=1)
        # XLA's CPU backend copies a product's first operand transposed when
        # its contracted axis (for the kernel gradient, the positions) is not
        # its minor one. With one group, the output gradient goes first: it is
        # T*C/F times smaller than the columns to copy, and the backward pass
        # ran 2-17% faster. With groups, that order ran 12-16% slower.
        self.gradient_first = geometry.groups == 1

    def forward(self, padded: jax.Array, kernel: jax.Array,
                finish: Callable[[jax.Array], jax.Array] = lambda sums: sums) -> jax.Array:
        """Each chunk's sums, passed through `finish` (rounding, bias) before they are stored."""
        weights = self._weights(kernel)
        group_axis, column_axis = self.rank + 1, self.rank + 2

        def chunk_out(padded_chunk):
            out = lax.dot_general(self._columns(padded_chunk), weights, (((column_axis,), (1,)), ((group_axis,), (0,))),
                                  preferred_element_type=_sum_dtype(padded))  # (G, b, *O, F/G)
            out = jnp.moveaxis(out, 0, group_axis)  # (b, *O, G, F/G)
            return finish(out.reshape(*out.shape[:group_axis], -1))  # (b, *O, F)

        return self._scan(lambda _, chunk: (None, chunk_out(*chunk)), None, padded)[1]

    def backward(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array) -> tuple[jax.Array, jax.Array]:
        weights, sum_dtype = self._weights(kernel), _sum_dtype(padded)
        positions, group_axis = tuple(range(self.rank + 1)), self.rank + 1  # (b, *O) and G

        def chunk_grads(weights_grad, chunk):
            padded_chunk, grad_chunk = chunk
            grouped = grad_chunk.reshape(*grad_chunk.shape[:-1], self.geometry.groups, -1)  # (b, *O, G, F/G)
            columns = self._columns(padded_chunk)
            operands = (grouped, columns) if self.gradient_first else (columns, grouped)
            weights_grad += lax.dot_general(*operands, ((positions, positions), ((group_axis,), (group_axis,))),
                                            preferred_element_type=sum_dtype)
            columns_grad = lax.dot_general(grouped, weights, (((group_axis + 1,), (2,)), ((group_axis,), (0,))),
                                           preferred_element_type=sum_dtype)  # (G, b, *O, T*C/G)
            return weights_grad, self._overlap_add(columns_grad, padded_chunk.shape)

        init = jnp.zeros_like(weights.mT if self.gradient_first else weights, sum_dtype)  # (G, F/G, T*C/G) or transposed
        weights_grad, padded_grad = self._scan(chunk_grads, init, padded, out_grad)
        weights_grad = weights_grad.mT if self.gradient_first else weights_grad  # (G, T*C/G, F/G)
        per_tap = weights_grad.reshape(self.geometry.groups, len(self.offsets), self.group_channels, -1)
        kernel_grad = per_tap.transpose(1, 2, 0, 3).reshape(kernel.shape)  # (T, C/G, G, F/G) -> (*K, C/G, F)
        return padded_grad.astype(padded.dtype), kernel_grad.astype(kernel.dtype)

    def _scan(self, step: Callable, init, *batches: jax.Array):
        """`lax.scan` of `step` over `batches` a chunk at a time; one chunk needs no loop."""
        if self.chunk == batches[0].shape[0]:
            return step(init, batches)
        chunks = tuple(batch.reshape(-1, self.chunk, *batch.shape[1:]) for batch in batches)  # (N/b, b, ...)
        carry, outs = lax.scan(step, init, chunks)
        return carry, outs.reshape(-1, *outs.shape[2:])  # (N, ...)

    def _weights(self, kernel: jax.Array) -> jax.Array:
        groups = self.geometry.groups
        taps = kernel.reshape(-1, self.group_channels, groups, self.group_filters)  # (T, C/G, G, F/G)
        return taps.transpose(2, 0, 1, 3).reshape(groups, -1, self.group_filters)  # (G, T*C/G, F/G)

    def _columns(self, padded_chunk: jax.Array) -> jax.Array:
        columns = jnp.stack(_tap_windows(padded_chunk, self.geometry), axis=-2)  # (b, *O, G, T, C/G)
        return columns.reshape(*columns.shape[:-2], -1)  # (b, *O, G, T*C/G)

    def _overlap_add(self, columns_grad: jax.Array, padded_shape: Sequence[int]) -> jax.Array:
        """Adds every tap's column gradient back where its window was read."""
        groups, batch, *out_spatial, _ = columns_grad.shape
        per_tap = columns_grad.reshape(groups, batch, *out_spatial, len(self.offsets), self.group_channels)
        order = (*range(1, self.rank + 3), 0, self.rank + 3)  # G moves next to C/G
        per_tap = per_tap.transpose(order).reshape(batch, *out_spatial, len(self.offsets), -1)  # (b, *O, T, C)
        windows = [per_tap[..., t, :] for t in range(len(self.offsets))]
        offsets = [(0, *offset, 0) for offset in self.offsets]
        return add_windows_back(windows, offsets, (1, *self.geometry.strides, 1), padded_shape)  # (b, *Sp, C)


class _TapLoop:
    """The band's fallback, one group: the correlation's definition, a tap per step of a `fori_loop`.

    The forward pass adds each tap's strided window times the tap's weights;
    the input gradient adds the output gradient times them back where that
    window was read. No operand meets a zero it should not, so an Inf or NaN
    stays in its own windows. It runs slower than the band, but only on
    non-finite data, and its one loop body costs XLA a fraction of im2col's
    compile time, which every band layer's `lax.cond` pays (docs/performance.md).
    """

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.geometry, self.taps = geometry, math.prod(geometry.window)
        # Where each tap starts reading, batch and channels included: (T, rank + 2).
        self.starts = np.array([(0, *offset, 0) for offset in window_offsets(geometry.window, geometry.dilation)],
                               np.int32)
        # What one tap's window spans of the padded input before its stride is taken.
        extent = ((n - 1) * stride + 1 for n, stride in zip(geometry.out_spatial, geometry.strides))
        self.window_shape = (padded_shape[0], *extent, padded_shape[-1])

    def forward(self, padded: jax.Array, kernel: jax.Array) -> jax.Array:
        taps, sum_dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), _sum_dtype(padded)  # (T, C, F)
        strides = (1, *self.geometry.strides, 1)

        def add_tap(t, sums):
            span = lax.dynamic_slice(padded, self._start(t), self.window_shape, allow_negative_indices=False)
            window = lax.slice(span, (0,) * span.ndim, span.shape, strides)  # (N, *O, C)
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            return sums + lax.dot_general(window, weights, (((window.ndim - 1,), (0,)), ((), ())),
                                          preferred_element_type=sum_dtype)

        sums = jnp.zeros((padded.shape[0], *self.geometry.out_spatial, kernel.shape[-1]), sum_dtype)  # (N, *O, F)
        return lax.fori_loop(0, self.taps, add_tap, sums)

    def input_grad(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array) -> jax.Array:
        """`padded` gives only the shape and dtype."""
        taps, sum_dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), _sum_dtype(padded)  # (T, C, F)
        spread_out = [(0, 0, 0), *((0, 0, stride - 1) for stride in self.geometry.strides), (0, 0, 0)]

        def add_tap(t, grad):
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            window_grad = lax.dot_general(out_grad, weights, (((out_grad.ndim - 1,), (1,)), ((), ())),
                                          preferred_element_type=sum_dtype)  # (N, *O, C)
            window_grad = lax.pad(window_grad, jnp.zeros((), sum_dtype), spread_out)  # (N, *window extent, C)
            start = self._start(t)
            added = lax.dynamic_slice(grad, start, self.window_shape, allow_negative_indices=False) + window_grad
            return lax.dynamic_update_slice(grad, added, start, allow_negative_indices=False)

        grad = lax.fori_loop(0, self.taps, add_tap, jnp.zeros(padded.shape, sum_dtype))
        return grad.astype(padded.dtype)

    def _start(self, t: jax.Array) -> jax.Array:
        """Where tap `t` starts reading: row `t` of `self.starts`."""
        return lax.dynamic_index_in_dim(self.starts, t, keepdims=False)
