"""Adaptive pooling: a fixed number of windows along each axis, whatever its length, as Keras sets them.

Window `i` of `n` over `size` positions is `[floor(i * size / n),
ceil((i + 1) * size / n))`: windows of `ceil(size / n)` positions or one
more, overlapping where `n` does not divide `size`. Each axis is pooled in
turn, first to last, with the two window sizes sliding over every start
(`max_pool`/`average_pool` with stride 1), and each output takes the one
its window needs. That is Keras's own order, so values, and the first
maximum each gradient goes to, are built-in's: along the first axis, then
the next. When `n` divides `size` the windows are one strided pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._pool import average_pool, max_pool
from .geometry import is_static, normalize_data_format, ntuple, spatial_axes, spatial_rank


def adaptive_max_pool(
    x: jax.Array, output_size: int | Sequence[int], *, data_format: str = "channels_last"
) -> jax.Array:
    """The maximum of each adaptive window (`keras.ops.adaptive_max_pool`).

    Example:
    >>> adaptive_max_pool(jnp.array([1.0, 5.0, 2.0, 4.0, 3.0]).reshape(1, 5, 1), 3)[0, :, 0]
    Array([5., 5., 4.], dtype=float32)
    """
    return adaptive_pool(x, output_size, max_pool, data_format=data_format)


def adaptive_average_pool(
    x: jax.Array, output_size: int | Sequence[int], *, data_format: str = "channels_last"
) -> jax.Array:
    """The mean of each adaptive window (`keras.ops.adaptive_average_pool`).

    Example:
    >>> adaptive_average_pool(jnp.array([1.0, 5.0, 2.0, 4.0, 3.0]).reshape(1, 5, 1), 3)[0, :, 0]
    Array([3.      , 3.666667, 3.5     ], dtype=float32)
    """
    return adaptive_pool(x, output_size, average_pool, data_format=data_format)


def adaptive_pool(
    x: jax.Array,
    output_size: int | Sequence[int],
    pool: Callable[..., jax.Array],
    *,
    data_format: str = "channels_last",
) -> jax.Array:
    """`pool` (`max_pool` or `average_pool`) over adaptive windows, one spatial axis after another."""
    x = jnp.asarray(x)
    data_format = normalize_data_format(data_format)
    axes = spatial_axes(x.ndim, data_format)
    sizes = ntuple(output_size, spatial_rank(x), "output_size")
    if not is_static([x.shape[axis] for axis in axes]):
        raise ValueError(f"Adaptive pooling needs known spatial sizes. Received: x.shape={tuple(x.shape)}")
    for axis, n in zip(axes, sizes):
        x = _pool_axis(x, axis, n, pool, data_format)
    return x


def _pool_axis(x: jax.Array, axis: int, n: int, pool: Callable[..., jax.Array], data_format: str) -> jax.Array:
    """`n` adaptive windows along `axis`: small and big sliding pools, and each window's pick of them."""
    size = x.shape[axis]
    if size == 0:
        raise ValueError(f"Adaptive pooling needs a non-empty spatial axis. Received: x.shape={tuple(x.shape)}")
    i = np.arange(n)
    starts, ends = i * size // n, -(-(i + 1) * size // n)
    small = -(-size // n)

    def sliding(window: int, stride: int) -> jax.Array:
        pool_size = tuple(window if a == axis else 1 for a in spatial_axes(x.ndim, data_format))
        strides = tuple(stride if a == axis else 1 for a in spatial_axes(x.ndim, data_format))
        return pool(x, pool_size=pool_size, strides=strides, padding="valid", data_format=data_format)

    if size % n == 0:  # equal windows, evenly spaced
        return sliding(small, small)
    pooled = [sliding(small, 1)]  # (..., size - small + 1, ...)
    big = ends - starts > small
    if big.any():
        pooled.append(sliding(small + 1, 1))  # (..., size - small, ...)
    picks = np.where(big, starts + size - small + 1, starts)
    return jnp.take(jnp.concatenate(pooled, axis=axis), jnp.asarray(picks, np.int32), axis=axis)
