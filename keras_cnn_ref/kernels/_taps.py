"""A window's taps, folded one by one: unrolled for small windows, a loop over blocks of taps for large ones.

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

from ._geometry import dilated_extent, tap_window, window_offsets


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
            trailing = math.prod(window[axis + 1:])
            fitting = [p for p in range(1, window[axis] + 1) if window[axis] % p == 0 and p * trailing <= max_taps]
            if fitting:
                part = max(fitting)
                break
        if window:
            self.inner = (1,) * axis + (part,) + window[axis + 1:]
            outer = window[:axis] + (window[axis] // part,) + (1,) * (len(window) - axis - 1)
            outer_step = dilation[:axis] + (part * dilation[axis],) + dilation[axis + 1:]
        else:
            self.inner, outer, outer_step = (), (), ()
        self.size = math.prod(self.inner)
        self.count = self.taps // self.size
        self.starts = np.array(window_offsets(outer, outer_step), np.int32).reshape(self.count, len(window))
        self.offsets = window_offsets(self.inner, dilation)  # within a block, from its start
        self.extent = tuple(map(dilated_extent, self.inner, dilation))  # a block's span, before strides
        self.window_extent = tuple(map(dilated_extent, window, dilation))


def fold_taps(step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int],
              out_shape: Sequence) -> Any:
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


def fold_blocks(step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int],
                out_shape: Sequence) -> Any:
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


def sure_outputs(sizes: Sequence, out_shape: Sequence, extents: Sequence[int],
                 strides: Sequence[int]) -> tuple[tuple, tuple]:
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


def _fold_blocks(step: Callable, init: Callable, padded: jax.Array, blocks: TapBlocks, strides: Sequence[int],
                 out_shape: Sequence) -> Any:
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
