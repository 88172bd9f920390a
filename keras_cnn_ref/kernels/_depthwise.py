"""Depthwise and separable convolutions: grouped convolutions with one group per input channel."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from ._conv import conv
from .geometry import channel_axis, normalize_data_format
from .plan import Plan


def depthwise_conv(
    x: jax.Array,
    kernel: jax.Array,
    *,
    bias: jax.Array | None = None,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
    data_format: str = "channels_last",
    plan: Plan = Plan(),
) -> jax.Array:
    """Each input channel convolved with its own `depth_multiplier` filters (`keras.ops.depthwise_conv`).

    `bias`, `strides`, `padding`, `dilation_rate`, `data_format` and `plan` are `conv`'s.

    Args:
        x: input batch, `(batch, *spatial, channels)` or channels first.
        kernel: `(*kernel_size, channels, depth_multiplier)`; output channel
            `c * depth_multiplier + m` is channel `c` through filter `m`.

    Returns:
        `(batch, *new_spatial, channels * depth_multiplier)` (or channels first).

    Example:
    >>> x = jnp.stack([jnp.ones((1, 4)), 2 * jnp.ones((1, 4))], axis=-1)  # (1, 4, 2)
    >>> depthwise_conv(x, jnp.ones((3, 2, 2)) * jnp.array([1.0, 10.0]))[0, 0]
    Array([ 3., 30.,  6., 60.], dtype=float32)
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    data_format = normalize_data_format(data_format)
    if kernel.ndim != x.ndim or x.ndim < 2 or x.shape[channel_axis(data_format)] != kernel.shape[-2]:
        raise ValueError(
            "A depthwise kernel must be `(*kernel_size, channels, depth_multiplier)`, with the input's rank and "
            f"channels. Received: x.shape={tuple(x.shape)} ({data_format}), kernel.shape={tuple(kernel.shape)}"
        )
    *window, channels, multiplier = kernel.shape
    grouped = kernel.reshape(*window, 1, channels * multiplier)  # (*K, 1, C*M): filter c*M + m reads channel c
    return conv(
        x,
        grouped,
        bias=bias,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        groups=channels,
        data_format=data_format,
        plan=plan,
    )


def separable_conv(
    x: jax.Array,
    depthwise_kernel: jax.Array,
    pointwise_kernel: jax.Array,
    *,
    bias: jax.Array | None = None,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
    data_format: str = "channels_last",
    plan: Plan = Plan(),
) -> jax.Array:
    """`depthwise_conv`, then a pointwise (1x1) `conv` with `bias` (`keras.ops.separable_conv`).

    `x`, `bias`, `strides`, `padding`, `dilation_rate`, `data_format` and
    `plan` are `conv`'s; strides, padding and dilation apply to the
    depthwise step.

    Args:
        depthwise_kernel: `(*kernel_size, channels, depth_multiplier)`.
        pointwise_kernel: `(*ones, channels * depth_multiplier, filters)`.

    Example:
    >>> separable_conv(jnp.ones((1, 5, 2)), jnp.ones((3, 2, 1)), jnp.ones((1, 2, 4))).shape
    (1, 3, 4)
    """
    depthwise = depthwise_conv(
        x,
        depthwise_kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        data_format=data_format,
        plan=plan,
    )
    return conv(depthwise, pointwise_kernel, bias=bias, data_format=data_format, plan=plan)
