"""A window's taps, folded one by one: unrolled for small windows, a loop over blocks of taps for large ones.

`window_taps` gives every tap's strided view at once, to fold unrolled.

An unrolled fold is one strided slice per tap, which XLA fuses into one
loop, but its compile time grows with the number of taps (a 16x16 max
pool's forward and backward pass took 41-61 s to compile). Past a few dozen
taps the window is cut into equal blocks of whole rows (or of equal parts of
one row), and a `fori_loop` visits the blocks: each step slices its block's
span out of the input at a dynamic offset and folds that block's taps,
unrolled. Compile time then follows the block's size, not the window's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .geometry import Pads, dilated_extent, tap_window, window_offsets


def window_taps(
    x: jax.Array,
    fill: jax.Array,
    window: tuple[int, ...],
    strides: tuple[int, ...],
    pads: Pads,
    out_shape: tuple[int, ...],
) -> list[jax.Array]:
    """Every window tap's view of `x` padded with `fill`, in row-major window order.

    The padded input is never built: each tap slices the part of `x` it
    reads and pads only its own output positions that fall in the padding,
    so the padding fuses into the reduction's loop rather than costing a
    pass over `x` of its own (`_tap`).

    When the window spans one axis only, its windows do not overlap (stride
    >= window) and no other axis is strided or padded, that axis is split into
    `(outputs, stride)` blocks and each tap is one index along the block: the
    backward pass then puts gradients back with a plain pad of that small
    axis, not an interior pad of a long one. On sequences of 16-bit floats
    that ran 3-5x faster on CPU with windows of 2 and 3, and 10% slower with 4
    (docs/performance.md); on 2-D and 3-D windows the two forms tied or the
    strided one won, so they keep it.

    >>> [t.tolist() for t in window_taps(jnp.arange(5), 0, (2,), (2,), ((0, 1),), (3,))]
    [[0, 2, 4], [1, 3, 0]]
    """
    fill = jnp.asarray(fill, x.dtype)
    spanned = [axis for axis, size in enumerate(window) if size > 1]
    others = [axis for axis in range(x.ndim) if axis not in spanned]
    others_strided_or_padded = any(strides[axis] > 1 or pads[axis] != (0, 0) for axis in others)
    if len(spanned) != 1 or strides[spanned[0]] < window[spanned[0]] or others_strided_or_padded:
        return [_tap(x, fill, offset, strides, pads, out_shape) for offset in window_offsets(window, (1,) * x.ndim)]
    axis = spanned[0]
    (before, _), outputs, stride = pads[axis], out_shape[axis], strides[axis]
    fitted = lax.pad(
        x,
        fill,  # padded, then cropped or extended to whole blocks, never read past a window
        [(before, outputs * stride - size - before, 0) if a == axis else (0, 0, 0) for a, size in enumerate(x.shape)],
    )
    blocked = fitted.reshape(*x.shape[:axis], outputs, stride, *x.shape[axis + 1 :])  # (..., O, s, ...)
    return [lax.index_in_dim(blocked, offset, axis + 1, keepdims=False) for offset in range(window[axis])]


def _tap(
    x: jax.Array,
    fill: jax.Array,
    offset: tuple[int, ...],
    strides: tuple[int, ...],
    pads: Pads,
    out_shape: tuple[int, ...],
) -> jax.Array:
    """What the tap at `offset` reads of `x` padded by `pads`: a strided slice of `x`, padded with `fill`.

    Along each axis, output `o` reads `x[o * stride + offset - before]`; the
    outputs whose index falls outside `x` get `fill`.
    """
    firsts, counts, edges = [], [], []
    for k, stride, (before, _), outputs, size in zip(offset, strides, pads, out_shape, x.shape):
        first = max(0, -(-(before - k) // stride))  # the first output that reads inside x
        last = min(outputs - 1, (size - 1 + before - k) // stride)  # the last one
        if last < first:  # this tap reads only padding
            return jnp.full(out_shape, fill)
        firsts.append(first * stride + k - before)
        counts.append(last - first + 1)
        edges.append((first, outputs - 1 - last, 0))
    return lax.pad(tap_window(x, firsts, counts, strides), fill, edges)


class TapBlocks:
    """A window of `taps` taps, in row-major order, cut into `count` blocks of `size` consecutive taps.

    Every block is the same sub-window (`inner`) moved to its own start, so
    a loop can visit them: `starts[k]` is block `k`'s first tap. The block is
    the largest one of at most `max_taps` taps made of whole trailing axes and
    an equal part of the axis before them.

    >>> blocks = TapBlocks((3, 4), (1, 1), max_taps=8)
    >>> blocks.inner, blocks.count, blocks.starts.tolist()
    ((1, 4), 3, [[0, 0], [1, 0], [2, 0]])
    """

    def __init__(self, window: Sequence[int], dilation: Sequence[int], max_taps: int):
        window, dilation = tuple(window), tuple(dilation)
        self.taps, axis, part = math.prod(window), len(window), 1  # an empty window: one block of its one tap
        for axis in range(len(window)):  # the first axis with a part that fits gives the largest block
            trailing = math.prod(window[axis + 1 :])
            fitting = [p for p in range(1, window[axis] + 1) if window[axis] % p == 0 and p * trailing <= max_taps]
            if fitting:
                part = max(fitting)
                break
        if window:
            self.inner = (1,) * axis + (part,) + window[axis + 1 :]
            outer = window[:axis] + (window[axis] // part,) + (1,) * (len(window) - axis - 1)
            outer_step = (*dilation[:axis], part * dilation[axis], *dilation[axis + 1 :])
        else:
            self.inner, outer, outer_step = (), (), ()
        self.size = math.prod(self.inner)
        self.count = self.taps // self.size
        self.starts = np.array(window_offsets(outer, outer_step), np.int32).reshape(self.count, len(window))
        self.offsets = window_offsets(self.inner, dilation)  # within a block, from its start
        self.extent = tuple(map(dilated_extent, self.inner, dilation))  # a block's span, before strides
        self.window_extent = tuple(map(dilated_extent, window, dilation))


def fold_taps(
    step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int], out_shape: Sequence
) -> Any:
    """`step(carry, tap, t)` folded over every tap of `blocks`' window, in row-major order.

    `tap` is tap `t`'s strided window of `padded` (already padded, every
    axis covered by the window): `out_shape`, one value per output. `t` is
    an int when the window is one block, and a traced int32 in the loop. The
    carry starts as `init(first)`, `first` being tap 0.
    """

    def fold_block(carry, taps, k):
        for j, tap in enumerate(taps):
            carry = step(carry, tap, k * blocks.size + j)
        return carry

    return fold_blocks(fold_block, init, padded, blocks, strides, out_shape)


def fold_blocks(
    step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int], out_shape: Sequence
) -> Any:
    """`step(carry, taps, k)` folded over the blocks of taps: `taps` is block `k`'s list of tap windows.

    Each block reads a span of `padded` at its start, sliced out at a
    dynamic offset inside a `fori_loop` when there are several. A size that
    is symbolic (`jax.export`) may leave no output position, which a slice
    cannot prove it has: that axis is extended with zeros past every window,
    and the carry (each array `out_shape`) cropped back after the fold.
    """
    extra, work = sure_outputs(padded.shape, out_shape, blocks.window_extent, strides)
    if work == tuple(out_shape):
        return _fold_blocks(step, init, padded, blocks, strides, out_shape)
    padded = lax.pad(padded, jnp.zeros((), padded.dtype), [(0, e, 0) for e in extra])
    carry = _fold_blocks(step, init, padded, blocks, strides, work)
    return jax.tree.map(lambda a: lax.slice(a, (0,) * a.ndim, tuple(out_shape)), carry)


def sure_outputs(
    sizes: Sequence, out_shape: Sequence, extents: Sequence[int], strides: Sequence[int]
) -> tuple[tuple, tuple]:
    """The zeros to append to each axis of a padded input, and the outputs that then surely exist.

    A symbolic size (`jax.export`) may leave no output position: its count is
    `max(..., 0)`, and a strided slice cannot prove it reads inside its
    input. Such an axis gets `extent` zeros appended, which leaves
    `size // stride + 1` outputs; the real ones are the first of them.

    >>> sure_outputs((7,), (3,), (3,), (2,))  # known sizes need nothing
    ((0,), (3,))
    """
    unsure = [not isinstance(n, int) and e > 1 for n, e in zip(out_shape, extents)]
    extra = tuple(e if u else 0 for u, e in zip(unsure, extents))
    work = tuple(size // s + 1 if u else n for size, s, u, n in zip(sizes, strides, unsure, out_shape))
    return extra, work


def _fold_blocks(
    step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int], out_shape: Sequence
) -> Any:
    span_shape = tuple((n - 1) * s + e for n, s, e in zip(out_shape, strides, blocks.extent))

    def visit(k, carry, span):
        return step(carry, [tap_window(span, offset, out_shape, strides) for offset in blocks.offsets], k)

    carry = init(tap_window(padded, (0,) * padded.ndim, out_shape, strides))
    if blocks.count == 1:
        return visit(0, carry, padded)
    starts = jnp.asarray(blocks.starts)

    def visit_block(k, carry):
        return visit(k, carry, lax.dynamic_slice(padded, tuple(starts[k]), span_shape, allow_negative_indices=False))

    return lax.fori_loop(0, blocks.count, visit_block, carry)
