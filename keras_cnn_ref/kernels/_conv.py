"""Convolution in 1, 2 or 3 spatial dimensions, written out as "filter and stride".

Every kernel tap sees one strided window of the zero-padded input: the input
pixels it multiplies at every output position. Contracting that window with
the tap's (in_channels, filters) weights and summing over taps is the whole
convolution: no call to XLA's own convolution.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from ._correlate import correlate, transposed_correlate
from .geometry import (
    ConvGeometry,
    Pads,
    channel_axis,
    dilated_extent,
    explicit_pads,
    is_static,
    normalize_data_format,
    normalize_padding,
    ntuple,
    output_size,
    spatial_axes,
    spatial_rank,
    transposed_size,
    window_pads,
)
from .plan import Plan, per_shard


def conv(
    x: jax.Array,
    kernel: jax.Array,
    *,
    bias: jax.Array | None = None,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[tuple[int, int]] = "valid",
    dilation_rate: int | Sequence[int] = 1,
    groups: int = 1,
    data_format: str = "channels_last",
    plan: Plan = Plan(),
) -> jax.Array:
    """N-D cross-correlation with Keras's semantics (`keras.ops.conv`).

    The number of spatial axes (1, 2 or 3) is the input's rank minus 2.

    Args:
        x: input batch (any array-like), `(batch, *spatial, channels)` for
            `"channels_last"` or `(batch, channels, *spatial)`. It is cast to
            the kernel's dtype, as Keras does.
        kernel: weights of shape `(*kernel_size, channels // groups, filters)`.
        bias: optional `(filters,)` vector, cast to the kernel's dtype and
            added to every output position after the sums are rounded, as
            Keras's layers add it. Added here, each output chunk gets it while
            still in cache, which saves a pass over the output.
        strides: int or tuple (one per spatial axis), the step between output
            positions.
        padding: `"valid"` (none) or `"same"` (case-insensitive): pad so the
            output has `ceil(size / stride)` positions, the odd pad going
            after, as Keras and XLA do. Or explicit zeros, a `(before,
            after)` pair per spatial axis, as XLA's own convolution takes
            them: `[((kernel - 1) * dilation, 0)]` is Keras's "causal".
        dilation_rate: int or tuple, the step between kernel taps.
        groups: channels and filters split into this many independent groups.
        data_format: `"channels_last"` or `"channels_first"`.
        plan: how to compute it (`Plan`): each platform's tactics and the
            batch's sharding. The values do not depend on it, up to the
            order of float32 sums; it is static, part of the compiled
            program's cache key.

    Returns:
        The output batch in `data_format`, in the kernel's dtype. 16-bit
        inputs are accumulated in float32 and rounded once.

    Example:
    >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv(x, jnp.ones((2, 2, 1, 1)), strides=2)[0, :, :, 0]
    Array([[10., 18.],
           [42., 50.]], dtype=float32)
    >>> conv(jnp.arange(5.0).reshape(1, 5, 1), jnp.ones((3, 1, 1)), padding="same")[0, :, 0]
    Array([1., 3., 6., 9., 7.], dtype=float32)
    >>> conv(jnp.arange(5.0).reshape(1, 5, 1), jnp.ones((3, 1, 1)), padding=[(2, 0)])[0, :, 0]  # causal
    Array([0., 1., 3., 6., 9.], dtype=float32)
    >>> conv(jnp.ones((1, 3, 2)), jnp.ones((2, 2, 3)), bias=jnp.array([0.0, 1.0, 2.0]))[0]
    Array([[4., 5., 6.],
           [4., 5., 6.]], dtype=float32)
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    bias = None if bias is None else jnp.asarray(bias)
    rank = spatial_rank(x)
    strides = ntuple(strides, rank, "strides")
    dilation = ntuple(dilation_rate, rank, "dilation_rate")
    padding = normalize_padding(padding) if isinstance(padding, str) else explicit_pads(padding, rank)
    data_format = normalize_data_format(data_format)
    _check_operands(x, kernel, bias, groups, data_format)
    if not isinstance(plan, Plan):
        raise TypeError(f"`plan` must be a keras_cnn_ref.kernels.Plan. Received: plan={plan!r}")
    plan.check()
    if rank == 0:  # no spatial axis: a product, taken as a convolution over one axis of one cell
        return conv(x[:, None], kernel[None], bias=bias, groups=groups, plan=plan)[:, 0]
    spatial = [x.shape[axis] for axis in spatial_axes(x.ndim, data_format)]
    extents = list(map(dilated_extent, kernel.shape[:rank], dilation))
    pads = (
        padding
        if not isinstance(padding, str)
        else tuple(map(window_pads, spatial, extents, strides, (padding,) * rank))
    )
    out_spatial = tuple(map(output_size, spatial, extents, strides, pads))
    if is_static(out_spatial) and 0 in out_spatial and x.size != 0:
        filters = kernel.shape[-1]
        raise NoOutputPositions(
            "Computed output size would be zero or negative: the convolution has no output "
            "positions, since the (padded) input is smaller than the dilated kernel. Received: "
            f"x.shape={tuple(x.shape)}, kernel.shape={tuple(kernel.shape)}, "
            f"strides={strides}, padding={padding!r}, dilation_rate={dilation}",
            shape=(x.shape[0], *out_spatial, filters)
            if data_format == "channels_last"
            else (x.shape[0], filters, *out_spatial),
        )
    geometry = ConvGeometry(tuple(kernel.shape[:rank]), strides, dilation, groups, out_spatial)
    return _conv(x, kernel, bias, pads, geometry, data_format, plan)


class NoOutputPositions(ValueError):
    """A convolution whose input, padded, is smaller than its dilated kernel: `keras.ops.conv` raises it.

    Keras's depthwise and separable convolutions return an empty output of
    `shape` instead, which the plugin does.
    """

    def __init__(self, message: str, shape: tuple[int, ...]):
        super().__init__(message)
        self.shape = shape


def _check_operands(x: jax.Array, kernel: jax.Array, bias: jax.Array | None, groups: int, data_format: str) -> None:
    if kernel.ndim != x.ndim or 0 in kernel.shape[:-2]:
        raise ValueError(
            "The kernel must have the input's rank, `(*kernel_size, in_channels // groups, filters)`, with every "
            f"kernel_size positive. Received: x.shape={tuple(x.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    if not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ValueError(f"`groups` must be a positive int. Received: groups={groups!r}")
    channels = x.shape[channel_axis(data_format)]
    group_channels, filters = kernel.shape[-2:]
    if channels != group_channels * groups or filters % groups:
        raise ValueError(
            "The input's channels must equal the kernel's in_channels times "
            "`groups`, and the kernel's filters must divide by `groups`. "
            f"Received: x.shape={tuple(x.shape)} ({data_format}), "
            f"kernel.shape={tuple(kernel.shape)}, groups={groups}"
        )
    if bias is not None and bias.shape != (filters,):
        raise ValueError(
            "The bias must hold one value per filter. Received: "
            f"bias.shape={tuple(bias.shape)}, kernel.shape={tuple(kernel.shape)}"
        )


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6, 7))
def _conv(
    x: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None,
    pads: Pads,
    geometry: ConvGeometry,
    data_format: str,
    plan: Plan,
    transposed: bool = False,
) -> jax.Array:
    """`correlate` (or, `transposed`, `transposed_correlate` and the bias after) in `data_format`, per shard."""
    plan = plan.resolved()  # the current policy is part of this jit's cache key (`plan.get_policy`)
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)  # (N, *S, C)
    # Keras casts x to the kernel's dtype. The sums over taps, forward and
    # backward, are float32 (or wider) and round only once (`correlate`).
    dtype = kernel.dtype
    x, bias = x.astype(dtype), None if bias is None else bias.astype(dtype)
    filters = kernel.shape[-2 if transposed else -1]
    if transposed:  # the kernel's last axis is the input's channels: the filters stay whole in each shard
        plan = plan._replace(filter_axes=())

    def shard(x, kernel, bias):  # one shard's convolution, its platform's tactics chosen inside
        if not transposed:
            return correlate(x, kernel, bias, pads, geometry, plan)
        out = transposed_correlate(x, kernel, pads, geometry, plan)
        return out if bias is None else out + bias

    if x.size:
        out = per_shard(shard, plan, x.shape[0], filters, geometry.groups)(x, kernel, bias)  # (N, *O, F)
    else:  # an empty batch: nothing to sum
        out_spatial = (
            geometry.out_spatial
            if not transposed
            else tuple(
                map(
                    transposed_size,
                    x.shape[1:-1],
                    map(dilated_extent, geometry.window, geometry.dilation),
                    geometry.strides,
                    pads,
                )
            )
        )
        out = jnp.zeros((x.shape[0], *out_spatial, filters), dtype)
    if data_format == "channels_first":
        out = jnp.moveaxis(out, -1, 1)  # (N, F, *O)
    return out
