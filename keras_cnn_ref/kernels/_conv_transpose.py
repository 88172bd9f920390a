"""The transposed convolution: each input position spreads its values, times the kernel, over a window.

It is the convolution's input gradient run forward: what `conv` adds up from
a window, `conv_transpose` sends back to that window. `transposed_correlate`
writes it with the same im2col tiles (or banded rows) as the convolution's
backward pass, and its own backward pass is that convolution's forward pass
and kernel gradient: no call to XLA's `conv_transpose`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from ._conv import _conv
from .geometry import (
    ConvGeometry,
    channel_axis,
    dilated_extent,
    normalize_data_format,
    normalize_padding,
    ntuple,
    spatial_axes,
    spatial_rank,
    transpose_pads,
    transposed_size,
)
from .plan import Plan


def conv_transpose(
    x: jax.Array,
    kernel: jax.Array,
    *,
    bias: jax.Array | None = None,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    dilation_rate: int | Sequence[int] = 1,
    data_format: str = "channels_last",
    plan: Plan = Plan(),
) -> jax.Array:
    """N-D transposed convolution with Keras's semantics (`keras.ops.conv_transpose`).

    Args:
        x: input batch, `(batch, *spatial, channels)` for `"channels_last"`
            or `(batch, channels, *spatial)`, cast to the kernel's dtype.
        kernel: weights of shape `(*kernel_size, filters, channels)`: Keras's
            layout, the convolution's with its channel axes swapped.
        bias: optional `(filters,)` vector, added after the sums are rounded.
        strides: int or tuple, how far apart consecutive input positions
            put their windows in the output.
        padding: `"valid"` or `"same"` (case-insensitive). "same" gives
            `size * stride` positions when `output_padding` is None.
        output_padding: None, an int or a tuple of non-negative ints: the
            output positions added after the data, along each axis
            (`transpose_pads` has Keras's rule).
        dilation_rate: int or tuple, the step between kernel taps.
        data_format: `"channels_last"` or `"channels_first"`.
        plan: how to compute it (`Plan`), as for `conv`.

    Returns:
        The output batch in `data_format`, in the kernel's dtype, `(size -
        1) * stride + dilated kernel extent` long along each axis, padded or
        cropped as Keras's `padding` and `output_padding` say.

    Example:
    >>> conv_transpose(jnp.array([1.0, 10.0]).reshape(1, 2, 1), jnp.array([1.0, 2.0, 3.0]).reshape(3, 1, 1),
    ...                strides=2)[0, :, 0]
    Array([ 1.,  2., 13., 20., 30.], dtype=float32)
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    bias = None if bias is None else jnp.asarray(bias)
    rank = spatial_rank(x)
    strides = ntuple(strides, rank, "strides")
    dilation = ntuple(dilation_rate, rank, "dilation_rate")
    padding, data_format = normalize_padding(padding), normalize_data_format(data_format)
    output_padding = _output_padding(output_padding, rank)
    _check_operands(x, kernel, bias, data_format)
    if not isinstance(plan, Plan):
        raise TypeError(f"`plan` must be a keras_cnn_ref.kernels.Plan. Received: plan={plan!r}")
    plan.check()
    spatial = [x.shape[axis] for axis in spatial_axes(x.ndim, data_format)]
    extents = list(map(dilated_extent, kernel.shape[:rank], dilation))
    pads = tuple(map(transpose_pads, extents, strides, (padding,) * rank, output_padding))
    out_spatial = tuple(map(transposed_size, spatial, extents, strides, pads))
    if any(isinstance(size, int) and size <= 0 for size in out_spatial):
        raise ValueError(
            "Computed output size would be zero or negative: the transposed convolution crops more than "
            f"its windows span. Received: x.shape={tuple(x.shape)}, kernel.shape={tuple(kernel.shape)}, "
            f"strides={strides}, padding={padding!r}, output_padding={output_padding}, dilation_rate={dilation}"
        )
    geometry = ConvGeometry(tuple(kernel.shape[:rank]), strides, dilation, 1, tuple(spatial))
    return _conv(x, kernel, bias, pads, geometry, data_format, plan, True)


def _output_padding(value: int | Sequence[int] | None, rank: int) -> tuple[int | None, ...]:
    """`output_padding` as one entry per axis: None each, or non-negative ints."""
    if value is None:
        return (None,) * rank
    values = (
        (value,) * rank
        if isinstance(value, numbers.Integral)
        else tuple(value)
        if isinstance(value, Sequence) and not isinstance(value, str)
        else ()
    )
    if len(values) != rank or not all(isinstance(v, numbers.Integral) and v >= 0 for v in values):
        raise ValueError(
            f"`output_padding` must be None, a non-negative int or a tuple of {rank} non-negative "
            f"ints. Received: output_padding={value!r}"
        )
    return tuple(int(v) for v in values)


def _check_operands(x: jax.Array, kernel: jax.Array, bias: jax.Array | None, data_format: str) -> None:
    if kernel.ndim != x.ndim or 0 in kernel.shape[:-2]:
        raise ValueError(
            "The kernel must have the input's rank, `(*kernel_size, filters, in_channels)`, with every "
            f"kernel_size positive. Received: x.shape={tuple(x.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    channels = x.shape[channel_axis(data_format)]
    if channels != kernel.shape[-1]:
        raise ValueError(
            "The number of input channels must match the kernel's input channels, its last axis. Received: "
            f"x.shape={tuple(x.shape)} ({data_format}), kernel.shape={tuple(kernel.shape)}"
        )
    if bias is not None and bias.shape != (kernel.shape[-2],):
        raise ValueError(
            "The bias must hold one value per filter. Received: "
            f"bias.shape={tuple(bias.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
