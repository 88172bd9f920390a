"""2-D convolution written out as "filter and stride".

Every kernel tap (i, j) sees one strided window of the zero-padded input: the
input pixels it multiplies at every output position. Contracting that window
with the tap's (in_channels, filters) weights and summing over taps is the
whole convolution: no call to XLA's own convolution.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from ._correlate import correlate
from ._geometry import (
    ConvGeometry,
    Pads,
    channel_axis,
    check_rank,
    normalize_data_format,
    normalize_padding,
    ntuple,
    output_size,
    window_pads,
)

def conv2d(
    x: jax.Array,
    kernel: jax.Array,
    *,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    dilation_rate: int | Sequence[int] = 1,
    groups: int = 1,
    data_format: str = "channels_last",
) -> jax.Array:
    """2-D cross-correlation with Keras's semantics (`keras.ops.conv`).

    Args:
        x: input batch (any array-like), `(batch, height, width, channels)`
            for `"channels_last"` or `(batch, channels, height, width)`.
            It is cast to the kernel's dtype, as Keras does.
        kernel: weights of shape
            `(kernel_h, kernel_w, channels // groups, filters)`.
        strides: int or pair, the step between output positions.
        padding: `"valid"` (none) or `"same"` (case-insensitive): pad so the
            output has `ceil(size / stride)` positions, the odd pad going
            after (bottom/right), as Keras and XLA do.
        dilation_rate: int or pair, the step between kernel taps.
        groups: channels and filters split into this many independent groups.
        data_format: `"channels_last"` or `"channels_first"`.

    Returns:
        The output batch in `data_format`, in the kernel's dtype. 16-bit
        inputs are accumulated in float32 and rounded once.

    Example:
    >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv2d(x, jnp.ones((2, 2, 1, 1)), strides=2)[0, :, :, 0]
    Array([[10., 18.],
           [42., 50.]], dtype=float32)
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    strides = ntuple(strides, 2, "strides")
    dilation = ntuple(dilation_rate, 2, "dilation_rate")
    padding = normalize_padding(padding)
    data_format = normalize_data_format(data_format)
    _check_operands(x, kernel, groups, data_format)
    spatial = x.shape[1:3] if data_format == "channels_last" else x.shape[2:]
    extents = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:2], dilation)]
    pads = tuple(map(window_pads, spatial, extents, strides, (padding,) * 2))
    out_hw = tuple(map(output_size, spatial, extents, strides, pads))
    if 0 in out_hw and x.size:
        raise ValueError(
            "The convolution has no output positions: the (padded) input is "
            "smaller than the dilated kernel. Received: "
            f"x.shape={tuple(x.shape)}, kernel.shape={tuple(kernel.shape)}, "
            f"strides={strides}, padding={padding!r}, dilation_rate={dilation}"
        )
    return _conv2d(x, kernel, strides, pads, out_hw, dilation, groups, data_format)


def _check_operands(x: jax.Array, kernel: jax.Array, groups: int, data_format: str) -> None:
    check_rank(x, 4, "x")
    check_rank(kernel, 4, "kernel")
    if not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ValueError(f"`groups` must be a positive int. Received: groups={groups!r}")
    channels = x.shape[channel_axis(data_format)]
    group_channels, filters = kernel.shape[2:]
    if channels != group_channels * groups or filters % groups:
        raise ValueError(
            "The input's channels must equal the kernel's in_channels times "
            "`groups`, and the kernel's filters must divide by `groups`. "
            f"Received: x.shape={tuple(x.shape)} ({data_format}), "
            f"kernel.shape={tuple(kernel.shape)}, groups={groups}"
        )


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6, 7))
def _conv2d(
    x: jax.Array,
    kernel: jax.Array,
    strides: tuple[int, int],
    pads: Pads,
    out_hw: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    data_format: str,
) -> jax.Array:
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)  # (N, H, W, C)
    # Keras casts x to the kernel's dtype. 16-bit operands are then widened to
    # float32, so the sums over taps, forward and backward, round only once.
    dtype, compute_dtype = kernel.dtype, jnp.promote_types(kernel.dtype, jnp.float32)
    x, kernel = x.astype(dtype).astype(compute_dtype), kernel.astype(compute_dtype)
    padded = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0)])
    if x.size:
        out = correlate(padded, kernel, ConvGeometry(kernel.shape[:2], strides, dilation, groups, out_hw))
    else:  # an empty batch: nothing to sum
        out = jnp.zeros((x.shape[0], *out_hw, kernel.shape[3]), compute_dtype)
    out = out.astype(dtype)  # (N, OH, OW, F)
    if data_format == "channels_first":
        out = jnp.moveaxis(out, -1, 1)  # (N, F, OH, OW)
    return out
