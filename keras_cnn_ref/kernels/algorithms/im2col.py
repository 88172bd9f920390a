"""im2col: each tap's strided window laid side by side, so one `dot_general` contracts taps and channels.

Two loops keep it in flat memory and bounded compile time, whatever the
sizes:

- Tiles. The columns of `images` images and `rows` output rows (along the
  first spatial axis) fit `Tactics.chunk_bytes`; a loop visits the tiles,
  each reading its slab of the padded input at a dynamic offset. Small
  images go several to a tile, a large one a band of rows at a time, so a
  512x512 image costs a few MiB of columns at a time, not its whole columns.
  Under a sharded batch the loop runs inside each shard (`_plan.per_shard`),
  so it never crosses the sharded axis.
- Blocks of taps. A window of more than `Tactics.max_unrolled_taps` taps is
  cut into equal blocks (`TapBlocks`), and a `fori_loop` inside each tile
  contracts one block's columns at a time: XLA compiles one block's slices,
  not the whole window's. With one tap a block it is the correlation's
  definition, a tap at a time, which the band falls back on (`_correlate`).

The backward pass rebuilds each tile's columns rather than keeping them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from .._taps import TapBlocks
from ..geometry import ConvGeometry, add_windows_back, is_static, tap_window
from ..plan import Tactics, sum_dtype
from .guard import unfinished


class Im2col:
    """One correlation, `(N, *Sp, C) x (*K, C/G, F) -> (N, *O, F)` over a padded input, by tiles of columns.

    A tile's columns, `(images, rows, *O[1:], G, B * C/G)` for blocks of
    `B` taps and `itemsize` bytes a value, fit `tactics.chunk_bytes`: as
    many whole images as divide the batch, or else one image's output rows
    split into equal bands (one row at least). Shapes that are symbolic
    (`jax.export`) take one whole image a tile.
    """

    def __init__(
        self,
        padded_shape: Sequence[int],
        kernel_shape: Sequence[int],
        geometry: ConvGeometry,
        itemsize: int,
        tactics: Tactics,
    ):
        self.geometry, self.rank = geometry, len(geometry.window)
        *_, self.group_channels, filters = kernel_shape
        self.group_filters = filters // geometry.groups
        self.blocks = TapBlocks(geometry.window, geometry.dilation, tactics.max_unrolled_taps)
        batch, *spatial, channels = padded_shape
        out, strides = geometry.out_spatial, geometry.strides
        self.images, self.row_tiles, self.rows = 1, 1, out[0]
        if is_static(padded_shape) and is_static(out):
            row_bytes = math.prod(out[1:]) * self.blocks.size * channels * itemsize  # one output row's columns
            rows = max(1, min(self.rows, tactics.chunk_bytes // row_bytes))
            self.row_tiles = -(-self.rows // rows)
            self.rows = -(-self.rows // self.row_tiles)
            if self.row_tiles == 1:
                image_bytes = self.rows * row_bytes
                self.images = max(
                    b
                    for b in range(1, batch + 1)
                    if batch % b == 0 and b * image_bytes <= max(tactics.chunk_bytes, image_bytes)
                )
        self.tiles = batch // self.images * self.row_tiles
        self.tile_out = (self.images, self.rows, *out[1:])  # (b, rows, *O[1:])
        # The padded input's rows (first spatial axis) that whole tiles read, and one tile's slab of it.
        self.extent = (self.row_tiles * self.rows - 1) * strides[0] + self.blocks.window_extent[0]
        self.slab_shape = (
            self.images,
            (self.rows - 1) * strides[0] + self.blocks.window_extent[0],
            *spatial[1:],
            channels,
        )
        # XLA's CPU backend copies a product's first operand transposed when
        # its contracted axis (for the kernel gradient, the positions) is not
        # its minor one. With one group, the output gradient goes first: it is
        # T*C/F times smaller than the columns to copy, and the backward pass
        # ran 2-17% faster. With groups, that order ran 12-16% slower.
        self.gradient_first = geometry.groups == 1

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        """Each tile's sums, passed through `finish` (rounding, bias) before they are stored."""
        weights, dtype = self._weights(kernel), sum_dtype(padded)
        group_axis, column_axis = self.rank + 1, self.rank + 2

        def tile_sums(slab):
            def add_block(k, sums):
                columns = self._columns(slab, k, self._span_start(k, slab.ndim))
                return _plus(
                    sums,
                    lax.dot_general(
                        columns,
                        lax.dynamic_index_in_dim(weights, k, keepdims=False),
                        (((column_axis,), (1,)), ((group_axis,), (0,))),
                        preferred_element_type=dtype,
                    ),
                )  # (G, b, *O, F/G)

            zeros = (
                None
                if self.blocks.count == 1
                else jnp.zeros((self.geometry.groups, *self.tile_out, self.group_filters), dtype)
            )
            sums = self._each_block(add_block, zeros)
            sums = jnp.moveaxis(sums, 0, group_axis)  # (b, *O, G, F/G)
            return finish(sums.reshape(*sums.shape[:group_axis], -1))  # (b, *O, F)

        padded = self._extend(padded)
        if self.tiles == 1:
            return tile_sums(padded)
        if self.row_tiles == 1:  # whole images: the batch's own chunks, scanned
            outs = lax.map(tile_sums, padded.reshape(self.tiles, self.images, *padded.shape[1:]))  # (N/b, b, *O, F)
            return outs.reshape(-1, *outs.shape[2:])  # (N, *O, F)
        outs = lax.map(
            lambda t: tile_sums(lax.dynamic_slice(padded, self._slab_start(t), self.slab_shape)), jnp.arange(self.tiles)
        )  # (N * bands, 1, rows, *O[1:], F)
        out = outs.reshape(-1, self.row_tiles * self.rows, *outs.shape[3:])  # (N, bands * rows, *O[1:], F)
        return lax.slice_in_dim(out, 0, self.geometry.out_spatial[0], axis=1)  # (N, *O, F)

    def backward(
        self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool] = (True, True)
    ) -> tuple[jax.Array | None, jax.Array | None]:
        """The input's gradient (padded) and the kernel's, from the output's; None for each one not in `wants`.

        A transposed convolution's forward pass wants the input gradient
        alone, and its backward pass the kernel gradient alone (`padded` then
        gives only the shape and dtype, or the columns only, respectively).
        """
        wants_input, wants_kernel = wants
        weights, dtype = self._weights(kernel), sum_dtype(padded)
        positions, group_axis = tuple(range(self.rank + 1)), self.rank + 1  # (b, *O) and G
        out_grad = self._extend(out_grad, self.row_tiles * self.rows)  # whole tiles of rows; the extra ones zero

        def tile_grads(slab, grad_tile, weights_grad):
            grouped = grad_tile.reshape(*grad_tile.shape[:-1], self.geometry.groups, -1)  # (b, *O, G, F/G)

            def add_block(k, carry):
                weights_grad, slab_grad = carry
                span_start = self._span_start(k, slab.ndim)
                if wants_kernel:
                    columns = self._columns(slab, k, span_start)
                    operands = (grouped, columns) if self.gradient_first else (columns, grouped)
                    block_grad = lax.dot_general(
                        *operands,
                        ((positions, positions), ((group_axis,), (group_axis,))),
                        preferred_element_type=dtype,
                    )  # (G, F/G, B*C/G) or transposed
                    weights_grad = _add_at(weights_grad, block_grad[None], (k, 0, 0, 0))
                if wants_input:
                    block = lax.dynamic_index_in_dim(weights, k, keepdims=False)  # (G, B*C/G, F/G)
                    columns_grad = lax.dot_general(
                        grouped, block, (((group_axis + 1,), (2,)), ((group_axis,), (0,))), preferred_element_type=dtype
                    )  # (G, b, *O, B*C/G)
                    slab_grad = _add_at(slab_grad, self._overlap_add(columns_grad, slab.shape), span_start)
                return weights_grad, slab_grad

            return self._each_block(add_block, (weights_grad, jnp.zeros(slab.shape, dtype) if wants_input else None))

        block_grads = (
            self.blocks.count,
            self.geometry.groups,
            *((self.group_filters, -1) if self.gradient_first else (-1, self.group_filters)),
        )
        init = jnp.zeros(weights.reshape(block_grads).shape, dtype) if wants_kernel else None
        extended = self._extend(padded)
        if self.tiles == 1:
            weights_grad, padded_grad = tile_grads(extended, out_grad, init)
        else:
            grad_tiles = out_grad.reshape(self.tiles, *self.tile_out, -1)  # (tiles, b, rows, *O[1:], F)

            if self.row_tiles == 1:  # whole images: the batch's own chunks, scanned, each gradient stored as it comes
                chunks = (extended.reshape(self.tiles, self.images, *extended.shape[1:]), grad_tiles)  # (N/b, b, ...)
                weights_grad, padded_grad = lax.scan(lambda carry, chunk: tile_grads(*chunk, carry), init, chunks)
                padded_grad = None if padded_grad is None else padded_grad.reshape(-1, *padded_grad.shape[2:])
            else:  # bands of rows overlap where their windows do: each adds its gradient in

                def add_tile(t, carry):
                    start = self._slab_start(t)
                    weights_grad, slab_grad = tile_grads(
                        lax.dynamic_slice(extended, start, self.slab_shape),
                        lax.dynamic_index_in_dim(grad_tiles, t, keepdims=False),
                        carry[0],
                    )
                    return weights_grad, None if slab_grad is None else _add_at(carry[1], slab_grad, start)

                weights_grad, padded_grad = lax.fori_loop(
                    0, self.tiles, add_tile, (init, jnp.zeros(extended.shape, dtype) if wants_input else None)
                )
        if padded_grad is not None:
            padded_grad = lax.slice(padded_grad, (0,) * padded.ndim, padded.shape).astype(padded.dtype)
        return padded_grad, None if weights_grad is None else self._kernel_grad(weights_grad, kernel)

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """Nothing: each operand meets only its own windows' terms."""
        return ()

    def _each_block(self, add_block: Callable, init):
        """`add_block(k, carry)` for every block of taps: in a `fori_loop` when there are several."""
        return add_block(0, init) if self.blocks.count == 1 else lax.fori_loop(0, self.blocks.count, add_block, init)

    def _extend(self, x: jax.Array, rows: int | None = None) -> jax.Array:
        """`x` with zero rows (first spatial axis) appended up to `rows` (what whole bands of rows read)."""
        rows = self.extent if rows is None else rows
        if self.row_tiles == 1 or x.shape[1] >= rows:
            return x
        return lax.pad(x, jnp.zeros((), x.dtype), [(0, rows - x.shape[1] if a == 1 else 0, 0) for a in range(x.ndim)])

    def _slab_start(self, t: jax.Array) -> tuple:
        """Where tile `t`'s slab starts: its first image, and its first output row's first input row."""
        image, row_tile = t // self.row_tiles * self.images, t % self.row_tiles
        return _indices(image, row_tile * self.rows * self.geometry.strides[0], *(0,) * (len(self.slab_shape) - 2))

    def _span_start(self, k, ndim: int) -> tuple:
        """Where block `k`'s span of a tile's slab starts (the slab's origin when there is one block)."""
        if self.blocks.count == 1:
            return (0,) * ndim
        return _indices(0, *lax.dynamic_index_in_dim(jnp.asarray(self.blocks.starts), k, keepdims=False), 0)

    def _columns(self, slab: jax.Array, k, start: tuple) -> jax.Array:
        """Block `k`'s columns from a tile's slab, whose span starts at `start`: `(b, *O, G, B*C/G)`."""
        if self.blocks.count > 1:
            span_shape = tuple(
                (n - 1) * s + e for n, s, e in zip(self.tile_out[1:], self.geometry.strides, self.blocks.extent)
            )
            slab = lax.dynamic_slice(slab, start, (slab.shape[0], *span_shape, slab.shape[-1]))
        groups = self.geometry.groups
        grouped = slab.reshape(*slab.shape[:-1], groups, -1)  # (b, *span, G, C/G)
        strides = (1, *self.geometry.strides, 1, 1)
        taps = [
            tap_window(grouped, (0, *offset, 0, 0), (*self.tile_out, groups, self.group_channels), strides)
            for offset in self.blocks.offsets
        ]
        columns = jnp.stack(taps, axis=-2)  # (b, *O, G, B, C/G)
        return columns.reshape(*columns.shape[:-2], -1)  # (b, *O, G, B*C/G)

    def _weights(self, kernel: jax.Array) -> jax.Array:
        groups, blocks = self.geometry.groups, self.blocks
        taps = kernel.reshape(blocks.count, blocks.size, self.group_channels, groups, -1)  # (T/B, B, C/G, G, F/G)
        return taps.transpose(0, 3, 1, 2, 4).reshape(
            blocks.count, groups, -1, self.group_filters
        )  # (T/B, G, B*C/G, F/G)

    def _kernel_grad(self, weights_grad: jax.Array, kernel: jax.Array) -> jax.Array:
        """The weights' gradient, `(T/B, G, B*C/G, F/G)` (or its last two axes swapped), laid out as the kernel."""
        weights_grad = weights_grad.mT if self.gradient_first else weights_grad
        blocks = self.blocks
        per_tap = weights_grad.reshape(blocks.count, self.geometry.groups, blocks.size, self.group_channels, -1)
        return per_tap.transpose(0, 2, 3, 1, 4).reshape(kernel.shape).astype(kernel.dtype)  # (*K, C/G, F)

    def _overlap_add(self, columns_grad: jax.Array, slab_shape: Sequence[int]) -> jax.Array:
        """Adds every tap's column gradient back where its window was read: the block's span, `(b, *span, C)`."""
        groups, batch, *out_spatial, _ = columns_grad.shape
        per_tap = columns_grad.reshape(groups, batch, *out_spatial, self.blocks.size, self.group_channels)
        order = (*range(1, self.rank + 3), 0, self.rank + 3)  # G moves next to C/G
        per_tap = per_tap.transpose(order).reshape(batch, *out_spatial, self.blocks.size, -1)  # (b, *O, B, C)
        windows = [per_tap[..., t, :] for t in range(self.blocks.size)]
        offsets = [(0, *offset, 0) for offset in self.blocks.offsets]
        span = (
            (
                batch,
                *((n - 1) * s + e for n, s, e in zip(out_spatial, self.geometry.strides, self.blocks.extent)),
                slab_shape[-1],
            )
            if self.blocks.count > 1
            else slab_shape
        )
        return add_windows_back(windows, offsets, (1, *self.geometry.strides, 1), span)


def _plus(sums: jax.Array | None, more: jax.Array) -> jax.Array:
    return more if sums is None else sums + more


def _add_at(target: jax.Array, update: jax.Array, start: Sequence) -> jax.Array:
    """`target` with `update` added at `start` (static or traced); the whole of it when the shapes agree."""
    if update.shape == target.shape:
        return target + update
    start = _indices(*start)
    added = lax.dynamic_slice(target, start, update.shape, allow_negative_indices=False) + update
    return lax.dynamic_update_slice(target, added, start, allow_negative_indices=False)


def _indices(*parts) -> tuple[jax.Array, ...]:
    """Slice indices of one dtype, int32, which `lax.dynamic_slice` needs (loop counters are int64 under x64)."""
    return tuple(jnp.asarray(part, jnp.int32) for part in parts)
