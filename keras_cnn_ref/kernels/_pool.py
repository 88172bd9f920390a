"""Pooling in 1, 2 or 3 spatial dimensions: one generic window reduction, and
max and average pooling on top of it."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from ._taps import TapBlocks, fold_taps, window_taps
from .geometry import Pads, is_static, lowest, output_size, pool_geometry

# Windows of more taps than this are folded a block of taps at a time, in a
# loop (`_taps.py`): unrolled, a 4x4 max pool's forward and backward pass
# compiled in 0.3 s and an 8x8 one in 4.2 s.
MAX_UNROLLED_TAPS = 16
# A max pool whose windows overlap more than this (taps per output over cells
# per output) keeps each window's pick as an index and gathers its tangent:
# a 3x3 stride-1 pool's forward and backward pass ran 3.4x faster that way,
# a 3x3 stride-2 one 2.1x slower (docs/performance.md).
MAX_OVERLAP = 4


def pool(
    x: jax.Array,
    init_value: jax.Array,
    reduce_fn: Callable[[jax.Array, jax.Array], jax.Array],
    window: Sequence[int],
    strides: Sequence[int],
    pads: Pads,
    *,
    max_unrolled_taps: int = MAX_UNROLLED_TAPS,
) -> jax.Array:
    """Reduces every window of `x` to one value; padding holds `init_value`.

    `window`, `strides` and `pads` cover every axis of `x` (1 and (0, 0) on
    the batch and channel axes). The same reduction as `lax.reduce_window`,
    written as a fold of the window's taps: one strided `lax.slice` each, all
    fused into one elementwise loop, which runs 1.2-2.4x faster on CPU.
    Windows of more than `max_unrolled_taps` taps, and inputs of symbolic
    shape, fold the padded input a block of taps at a time (`fold_taps`).

    >>> pool(jnp.arange(6.0).reshape(2, 3), -jnp.inf, jax.lax.max, (1, 2), (1, 1), ((0, 0), (0, 0)))
    Array([[1., 2.],
           [4., 5.]], dtype=float32)
    """
    out_shape = tuple(map(output_size, x.shape, window, strides, pads))
    if is_static(out_shape) and 0 in out_shape:  # no output position, or an empty batch
        return jnp.full(out_shape, init_value, x.dtype)
    if _unrolled(x, window, max_unrolled_taps):
        return functools.reduce(reduce_fn, window_taps(x, init_value, window, strides, pads, out_shape))
    return fold_taps(
        lambda sums, tap, _: reduce_fn(sums, tap),
        lambda first: jnp.full(first.shape, init_value, x.dtype),
        _pad(x, init_value, pads),
        TapBlocks(window, (1,) * x.ndim, max_unrolled_taps),
        strides,
        out_shape,
    )


def _pad(x: jax.Array, fill, pads: Pads) -> jax.Array:
    return lax.pad(x, jnp.asarray(fill, x.dtype), [(*p, 0) for p in pads])


def max_pool(
    x: jax.Array,
    *,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
    max_unrolled_taps: int = MAX_UNROLLED_TAPS,
) -> jax.Array:
    """Max pooling with Keras's semantics (`keras.ops.max_pool`), in any number of spatial dimensions.

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
        max_unrolled_taps: windows with more taps fold a block of taps at a
            time, in a loop (`pool`); it changes the compiled program, never
            the values.

    Returns:
        The pooled batch, in `x`'s dtype and `data_format`; empty where a
        valid window is larger than the input.

    Example:
    >>> x = jnp.array([[1.0, 2.0, 5.0], [4.0, 3.0, 0.0], [7.0, 8.0, 9.0]])
    >>> max_pool(x.reshape(1, 3, 3, 1), pool_size=2)[0, :, :, 0]
    Array([[4.]], dtype=float32)
    """
    x = jnp.asarray(x)
    return _jit_max_pool(x, *pool_geometry(x, pool_size, strides, padding, data_format), max_unrolled_taps)


def average_pool(
    x: jax.Array,
    *,
    pool_size: int | Sequence[int] = 2,
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str = "channels_last",
    max_unrolled_taps: int = MAX_UNROLLED_TAPS,
) -> jax.Array:
    """Average pooling with Keras's semantics (`keras.ops.average_pool`), in any number of spatial dimensions.

    Each window's sum is divided by the number of input cells it covers: with
    `"same"` padding the pads are not counted. Arguments as `max_pool`'s.
    16-bit floats are summed in float32 and rounded once. Integers are summed
    in their own dtype, wrapping around as XLA's integers do, and the
    quotient is a float (float32, or float64 for 64-bit integers), as
    built-in Keras gives; booleans are refused, as there.

    Example:
    >>> x = jnp.arange(1.0, 6.0).reshape(1, 5, 1)
    >>> average_pool(x, pool_size=2, padding="same")[0, :, 0]  # the last window holds 5 alone
    Array([1.5, 3.5, 5. ], dtype=float32)
    """
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_:
        raise TypeError(f"Average pooling needs numbers, and booleans are not. Received: x.dtype={x.dtype}")
    return _jit_average_pool(x, *pool_geometry(x, pool_size, strides, padding, data_format), max_unrolled_taps)


def window_counts(
    shape: Sequence, window: Sequence[int], strides: Sequence[int], pads: Pads, dtype: jnp.dtype
) -> jax.Array:
    """How many cells of an unpadded `shape` each window covers, broadcastable to the output.

    Built from one `iota` per axis inside the computation, never while
    tracing, so it costs nothing in proportion to the data until it runs.

    >>> window_counts((5,), (2,), (2,), ((0, 1),), jnp.float32)
    Array([2., 2., 1.], dtype=float32)
    """
    counts = jnp.ones((1,) * len(shape), dtype)
    for axis, (size, width, stride, (before, after)) in enumerate(zip(shape, window, strides, pads)):
        if before == after == 0:  # every window full
            counts = counts * width
            continue
        starts = lax.iota(jnp.int32, output_size(size, width, stride, pads[axis])) * stride - before
        covered = jnp.minimum(starts + width, size) - jnp.maximum(starts, 0)  # (O,)
        counts = counts * covered.astype(dtype).reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return counts


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3, 4))
def _max_pool(x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads, max_taps: int) -> jax.Array:
    return pool(x, lowest(x.dtype), lax.max, window, strides, pads, max_unrolled_taps=max_taps)


@_max_pool.defjvp
def _max_pool_jvp(window, strides, pads, max_taps, primals, tangents):
    """Each window's tangent is that of the element XLA's select-and-scatter picks.

    Walk the window in row-major order, padding included as -inf with a zero
    tangent, and move the pick on to the next element unless `pick >= next`.
    That is the first maximum for ordinary values, and it passes a NaN on just
    as XLA does. The rule is linear in the tangent, so JAX transposes it into
    the reverse-mode gradient. A window folded in a loop, or one that
    overlaps its neighbours more than `MAX_OVERLAP` times, keeps the picked
    tap's index and gathers the tangent there (`_max_and_pick`).
    """
    (x,), (tangent,) = primals, tangents
    if not _unrolled(x, window, max_taps) or math.prod(window) > MAX_OVERLAP * math.prod(strides):
        best, pick = _max_and_pick(x, window, strides, pads, max_taps)
        return best, _picked(tangent, pick, window, strides, pads)
    x_taps = _padded_taps(x, lowest(x.dtype), window, strides, pads)
    tangent_taps = _padded_taps(tangent, jnp.zeros((), tangent.dtype), window, strides, pads)
    _, picked_tangent = functools.reduce(_keep_pick_unless_greater, zip(x_taps, tangent_taps))
    return functools.reduce(lax.max, x_taps), picked_tangent


def _max_and_pick(
    x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads, max_taps: int
) -> tuple[jax.Array, jax.Array]:
    """Each window's maximum, and the row-major index of the tap the rule above picks, folded a block at a time."""
    padded = _pad(x, lowest(x.dtype), pads)
    out_shape = tuple(map(output_size, x.shape, window, strides, pads))

    def step(carry, tap, t):  # the maximum, which a NaN wins, and the pick, which moves past one
        maximum, picked, pick = carry
        keep = picked >= tap
        return lax.max(maximum, tap), jnp.where(keep, picked, tap), jnp.where(keep, pick, t)

    def init(first):
        return first, first, jnp.zeros(first.shape, jnp.int32)

    maximum, _, pick = fold_taps(step, init, padded, TapBlocks(window, (1,) * x.ndim, max_taps), strides, out_shape)
    return maximum, pick


def _picked(
    tangent: jax.Array, pick: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads
) -> jax.Array:
    """The tangent of every window's picked tap: a gather, which transposes into a scatter-add."""
    offsets = jnp.unravel_index(pick, window)
    index = tuple(
        lax.broadcasted_iota(jnp.int32, pick.shape, axis) * stride + offset
        for axis, (stride, offset) in enumerate(zip(strides, offsets))
    )
    return _pad(tangent, 0, pads).at[index].get(mode="promise_in_bounds")


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3, 4))
def _window_sums(
    x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads, max_taps: int
) -> jax.Array:
    return pool(x, jnp.zeros((), x.dtype), lax.add, window, strides, pads, max_unrolled_taps=max_taps)


@_window_sums.defjvp
def _window_sums_jvp(window, strides, pads, max_taps, primals, tangents):
    """The sums are linear: the tangent's are its window sums, both taken as `_padded_taps` (see there)."""
    zero = jnp.zeros((), primals[0].dtype)
    return [functools.reduce(lax.add, _padded_taps(x, zero, window, strides, pads)) for x in (*primals, *tangents)]


def _unrolled(x: jax.Array, window: tuple[int, ...], max_taps: int) -> bool:
    """Whether a window's taps are unrolled: few enough, over an input of known shape."""
    return math.prod(window) <= max_taps and is_static(x.shape)


def _padded_taps(
    x: jax.Array, fill: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads
) -> list[jax.Array]:
    """`window_taps` over `x` padded first, for the derivative rules.

    Their transposes, the backward passes, then add every tap's gradient into
    one padded buffer and crop it once. With the padding fused into each tap
    instead, XLA's CPU backend ran a 3x3 stride-2 "same" max-pool forward and
    backward pass 7x slower (76-90 ms against 10-12 ms, 32x56x56x64): it kept
    the taps in memory rather than fuse them into the backward loop.
    """
    out_shape = tuple(map(output_size, x.shape, window, strides, pads))
    return window_taps(_pad(x, fill, pads), fill, window, strides, ((0, 0),) * x.ndim, out_shape)


def _keep_pick_unless_greater(pick, candidate):
    keep = pick[0] >= candidate[0]
    return jnp.where(keep, pick[0], candidate[0]), jnp.where(keep, pick[1], candidate[1])


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _jit_max_pool(
    x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads, max_taps: int
) -> jax.Array:
    # Maxima and picks are exact in any float width, and XLA's CPU arithmetic
    # on 16-bit floats converts op by op: widen once (2-4x faster, measured).
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return _max_pool(x, window, strides, pads, max_taps)
    wide = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return _max_pool(wide, window, strides, pads, max_taps).astype(x.dtype)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _jit_average_pool(
    x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], pads: Pads, max_taps: int
) -> jax.Array:
    if jnp.issubdtype(x.dtype, jnp.integer):  # summed in their own dtype, divided as floats
        quotient = jnp.dtype(jnp.float64 if x.dtype.itemsize == 8 else jnp.float32)
        sums = pool(x, 0, lax.add, window, strides, pads, max_unrolled_taps=max_taps)
        return sums.astype(quotient) / window_counts(x.shape, window, strides, pads, quotient)
    # Sums of 16-bit floats are taken in float32 and rounded once. A window folded in a loop is
    # left to autodiff: JAX 0.8 and 0.9 cannot transpose a loop inside a custom JVP rule.
    wide = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    if _unrolled(wide, window, max_taps):
        sums = _window_sums(wide, window, strides, pads, max_taps)
    else:
        sums = pool(wide, jnp.zeros((), wide.dtype), lax.add, window, strides, pads, max_unrolled_taps=max_taps)
    return (sums / window_counts(x.shape, window, strides, pads, wide.dtype)).astype(x.dtype)
