"""Pooling in 1, 2 or 3 spatial dimensions: one generic window reduction, and
max and average pooling on top of it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._geometry import (
    Pads,
    lowest,
    normalize_data_format,
    normalize_padding,
    ntuple,
    output_size,
    spatial_axes,
    spatial_rank,
    tap_window,
    window_offsets,
    window_pads,
)

Geometry = tuple[tuple[int, ...], tuple[int, ...], Pads]


def pool(
    x: jax.Array,
    init_value: jax.Array,
    reduce_fn: Callable[[jax.Array, jax.Array], jax.Array],
    window: Sequence[int],
    strides: Sequence[int],
    pads: Pads,
) -> jax.Array:
    """Reduces every window of `x` to one value; padding holds `init_value`.

    `window`, `strides` and `pads` cover every axis of `x` (1 and (0, 0) on
    the batch and channel axes). The same reduction as `lax.reduce_window`,
    written as a fold of the window's taps: one strided `lax.slice` each, all
    fused into one elementwise loop, which runs 1.2-2.4x faster on CPU.

    >>> pool(jnp.arange(6.0).reshape(2, 3), -jnp.inf, jax.lax.max, (1, 2), (1, 1), ((0, 0), (0, 0)))
    Array([[1., 2.],
           [4., 5.]], dtype=float32)
    """
    out_shape = tuple(map(output_size, x.shape, window, strides, pads))
    return functools.reduce(reduce_fn, window_taps(x, init_value, window, strides, pads, out_shape))


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
    >= window) and no other axis is strided, that axis is split into
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
    others_strided = any(stride > 1 for axis, stride in enumerate(strides) if axis not in spanned)
    if len(spanned) != 1 or strides[spanned[0]] < window[spanned[0]] or others_strided:
        return [_tap(x, fill, offset, strides, pads, out_shape) for offset in window_offsets(window, (1,) * x.ndim)]
    axis = spanned[0]
    (before, _), outputs, stride = pads[axis], out_shape[axis], strides[axis]
    fitted = lax.pad(x, fill,  # padded, then cropped or extended to whole blocks, never read past a window
                     [(before, outputs * stride - size - before, 0) if a == axis else (0, 0, 0)
                      for a, size in enumerate(x.shape)])
    blocked = fitted.reshape(*x.shape[:axis], outputs, stride, *x.shape[axis + 1:])  # (..., O, s, ...)
    return [lax.index_in_dim(blocked, offset, axis + 1, keepdims=False) for offset in range(window[axis])]


def _tap(x: jax.Array, fill: jax.Array, offset: tuple[int, ...], strides: tuple[int, ...], pads: Pads,
         out_shape: tuple[int, ...]) -> jax.Array:
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


def pool_geometry(
    x: jax.Array,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None,
    padding: str,
    data_format: str,
) -> Geometry:
    """Validated window, strides and pads of a pooling, over every axis of `x`."""
    rank = spatial_rank(x)
    pool_size = ntuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else ntuple(strides, rank, "strides")
    padding = normalize_padding(padding)
    axes = spatial_axes(x.ndim, normalize_data_format(data_format))
    window, full_strides, pads = [1] * x.ndim, [1] * x.ndim, [(0, 0)] * x.ndim
    for axis, size, stride in zip(axes, pool_size, strides):
        window[axis], full_strides[axis] = size, stride
        pads[axis] = window_pads(x.shape[axis], size, stride, padding)
        if output_size(x.shape[axis], size, stride, pads[axis]) == 0:
            raise ValueError(
                "The pooling window is larger than the input, so there is no "
                'output position; use padding="same" or a smaller pool_size. '
                f"Received: x.shape={tuple(x.shape)}, pool_size={pool_size}, "
                f"strides={strides}, padding={padding!r}, data_format={data_format!r}"
            )
    return tuple(window), tuple(full_strides), tuple(pads)


def max_pool(
    x: jax.Array,
    *,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
) -> jax.Array:
    """Max pooling with Keras's semantics (`keras.ops.max_pool`), 1-D to 3-D.

    Padding cells hold -inf, so they never win a window. The gradient of each
    window goes to one element, the one XLA's (and so built-in Keras's)
    select-and-scatter picks: the first maximal element in row-major window
    order.

    Args:
        x: input batch (any array-like), `(batch, *spatial, channels)` for
            `"channels_last"` or `(batch, channels, *spatial)`, with 1, 2 or
            3 spatial axes.
        pool_size: int or tuple (one per spatial axis), the window size.
        strides: int or tuple; `None` means `pool_size`.
        padding: `"valid"` or `"same"` (case-insensitive), the odd pad after.
        data_format: `"channels_last"` or `"channels_first"`.

    Returns:
        The pooled batch, in `x`'s dtype and `data_format`.

    Example:
    >>> x = jnp.array([[1.0, 2.0, 5.0], [4.0, 3.0, 0.0], [7.0, 8.0, 9.0]])
    >>> max_pool(x.reshape(1, 3, 3, 1), pool_size=2)[0, :, :, 0]
    Array([[4.]], dtype=float32)
    """
    x = jnp.asarray(x)
    return _jit_max_pool(x, *pool_geometry(x, pool_size, strides, padding, data_format))


def average_pool(
    x: jax.Array,
    *,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
) -> jax.Array:
    """Average pooling with Keras's semantics (`keras.ops.average_pool`), 1-D to 3-D.

    Each window's sum is divided by the number of input cells it covers: with
    `"same"` padding the pads are not counted. Arguments as `max_pool`'s.

    Example:
    >>> x = jnp.arange(1.0, 6.0).reshape(1, 5, 1)
    >>> average_pool(x, pool_size=2, padding="same")[0, :, 0]  # the last window holds 5 alone
    Array([1.5, 3.5, 5. ], dtype=float32)
    """
    x = jnp.asarray(x)
    return _jit_average_pool(x, *pool_geometry(x, pool_size, strides, padding, data_format))


def window_counts(shape: Sequence[int], window: Sequence[int], strides: Sequence[int], pads: Pads) -> np.ndarray:
    """How many cells of an unpadded `shape` each window covers, broadcastable to the output.

    >>> window_counts((5,), (2,), (2,), ((0, 1),))
    array([2., 2., 1.])
    """
    counts = np.ones((1,) * len(shape))
    for axis, (size, width, stride, (before, _)) in enumerate(zip(shape, window, strides, pads)):
        starts = np.arange(output_size(size, width, stride, pads[axis])) * stride - before
        covered = np.minimum(starts + width, size) - np.maximum(starts, 0)  # (O,)
        if width > 1:
            counts = counts * covered.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return counts


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _max_pool(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads) -> jax.Array:
    return pool(x, lowest(x.dtype), lax.max, window, strides, pads)


@_max_pool.defjvp
def _max_pool_jvp(window, strides, pads, primals, tangents):
    """Each window's tangent is that of the element XLA's select-and-scatter picks.

    Walk the window in row-major order, padding included as -inf with a zero
    tangent, and move the pick on to the next element unless `pick >= next`.
    That is the first maximum for ordinary values, and it passes a NaN on just
    as XLA does. The rule is linear in the tangent, so JAX transposes it into
    the reverse-mode gradient.
    """
    (x,), (tangent,) = primals, tangents
    x_taps = _padded_taps(x, lowest(x.dtype), window, strides, pads)
    tangent_taps = _padded_taps(tangent, jnp.zeros((), tangent.dtype), window, strides, pads)
    _, picked_tangent = functools.reduce(_keep_pick_unless_greater, zip(x_taps, tangent_taps))
    return functools.reduce(lax.max, x_taps), picked_tangent


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _window_sums(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads) -> jax.Array:
    return pool(x, jnp.zeros((), x.dtype), lax.add, window, strides, pads)


@_window_sums.defjvp
def _window_sums_jvp(window, strides, pads, primals, tangents):
    """The sums are linear: the tangent's are its window sums. Both are taken as `_padded_taps` (see there)."""
    zero = jnp.zeros((), primals[0].dtype)
    return [functools.reduce(lax.add, _padded_taps(x, zero, window, strides, pads)) for x in (*primals, *tangents)]


def _padded_taps(x: jax.Array, fill: jax.Array, window: tuple[int, ...], strides: tuple[int, ...],
                 pads: Pads) -> list[jax.Array]:
    """`window_taps` over `x` padded first, for the derivative rules.

    Their transposes, the backward passes, then add every tap's gradient into
    one padded buffer and crop it once. With the padding fused into each tap
    instead, XLA's CPU backend ran a 3x3 stride-2 "same" max-pool forward and
    backward pass 7x slower (76-90 ms against 10-12 ms, 32x56x56x64): it kept
    the taps in memory rather than fuse them into the backward loop.
    """
    padded = lax.pad(x, fill, [(*p, 0) for p in pads])
    out_shape = tuple(map(output_size, x.shape, window, strides, pads))
    return window_taps(padded, fill, window, strides, ((0, 0),) * x.ndim, out_shape)


def _keep_pick_unless_greater(pick, candidate):
    keep = pick[0] >= candidate[0]
    return jnp.where(keep, pick[0], candidate[0]), jnp.where(keep, pick[1], candidate[1])


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _jit_max_pool(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads) -> jax.Array:
    # Maxima and picks are exact in any float width, and XLA's CPU arithmetic
    # on 16-bit floats converts op by op: widen once (2-4x faster, measured).
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return _max_pool(x, window, strides, pads)
    wide = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return _max_pool(wide, window, strides, pads).astype(x.dtype)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _jit_average_pool(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads) -> jax.Array:
    # Sums of 16-bit floats are taken in float32 and rounded once.
    wide = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    sums = _window_sums(wide, window, strides, pads)
    return (sums / window_counts(x.shape, window, strides, pads).astype(wide.dtype)).astype(x.dtype)
