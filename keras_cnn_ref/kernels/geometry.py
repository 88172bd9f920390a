"""Window geometry shared by the convolution and pooling kernels.

Everything here is plain Python on static shapes: it runs once while a kernel
is traced, never inside the compiled computation.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

Pads = tuple[tuple[int, int], ...]

PADDINGS = ("valid", "same")


class ConvGeometry(NamedTuple):
    """The static shape of one N-D correlation over an already padded input.

    Every field but `groups` has one entry per spatial axis.
    """

    window: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    out_spatial: tuple[int, ...]


DATA_FORMATS = ("channels_last", "channels_first")


def ntuple(value: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    """Returns `value` as a tuple of `n` strictly positive ints.

    >>> ntuple(3, 2, "strides")
    (3, 3)
    """
    if isinstance(value, numbers.Integral):
        values = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = tuple(value)
    else:
        values = ()
    if len(values) != n or not all(isinstance(v, numbers.Integral) and v > 0 for v in values):
        raise ValueError(f"`{name}` must be a positive int or a tuple of {n} positive ints. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def one_of(value: str, choices: tuple[str, ...], name: str) -> str:
    """Returns `value` lower-cased if it names one of `choices`.

    >>> one_of("SAME", PADDINGS, "padding")
    'same'
    """
    normalized = value.lower() if isinstance(value, str) else value
    if normalized not in choices:
        raise ValueError(f"`{name}` must be one of {choices} (case-insensitive). Received: {name}={value!r}")
    return normalized


def normalize_padding(padding: str) -> str:
    return one_of(padding, PADDINGS, "padding")


def explicit_pads(padding: Sequence[Sequence[int]], rank: int) -> Pads:
    """`padding` given as `(before, after)` zeros per spatial axis, as XLA's convolution takes it.

    >>> explicit_pads([(2, 0)], 1)  # causal, for a dilated extent of 3
    ((2, 0),)
    """
    pairs = tuple(tuple(pair) if isinstance(pair, Sequence) and not isinstance(pair, str) else () for pair in padding)
    if len(pairs) != rank or not all(
        len(pair) == 2 and all(isinstance(p, numbers.Integral) and p >= 0 for p in pair) for pair in pairs
    ):
        raise ValueError(
            f"Explicit `padding` must be {rank} pairs of non-negative ints, (before, after) for each "
            f"spatial axis. Received: padding={padding!r}"
        )
    return tuple((int(before), int(after)) for before, after in pairs)


def normalize_data_format(data_format: str) -> str:
    return one_of(data_format, DATA_FORMATS, "data_format")


def spatial_axes(ndim: int, data_format: str) -> tuple[int, ...]:
    """The axes of an `ndim`-rank batch that hold its spatial dimensions."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + ndim - 2))


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def spatial_rank(x: jax.Array) -> int:
    """The number of spatial axes of a batch, `x.ndim - 2`: any number, as XLA's window ops take.

    Keras's layers have 1, 2 or 3; `keras.ops` passes any rank of at least 2 on.
    """
    if x.ndim < 2:
        raise ValueError(
            "`x` must have a batch axis and a channel axis, with any number of spatial axes "
            f"between them (rank 2 or more). Received: x.shape={tuple(x.shape)}"
        )
    return x.ndim - 2


def is_static(shape: Sequence) -> bool:
    """Whether every size in `shape` is a known int, none symbolic (`jax.export`)."""
    return all(isinstance(size, int) for size in shape)


def window_pads(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """Keras's padding of one spatial axis: "same" puts the odd pad after.

    >>> window_pads(6, 3, 2, "same")  # out = 3; total = (3 - 1) * 2 + 3 - 6 = 1
    (0, 1)
    """
    if padding == "valid":
        return (0, 0)
    out = -(-size // stride)
    total = jax.core.max_dim((out - 1) * stride + window - size, 0)  # a symbolic size gives a symbolic pad
    return (total // 2, total - total // 2)


def trim_window(size: int, window: int, stride: int, pads: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
    """A pooling window cut down to the taps that read the input for some output: `(window, stride, pads)`.

    Taps that read only padding for every output are cut, but for one on
    each side where there were any: a run of padding taps folds like one
    (ties and NaN picks included), so the result is unchanged, and a window
    of 10**9 over 10 cells costs 12 taps. With one output the stride is moot
    and becomes 1.

    >>> trim_window(10, 10**9, 10**9, window_pads(10, 10**9, 10**9, "same"))
    (12, 1, (1, 1))
    """
    (before, _), outputs = pads, output_size(size, window, stride, pads)
    if outputs == 0:
        return window, stride, pads
    stride = 1 if outputs == 1 else stride
    first = max(before - (outputs - 1) * stride - 1, 0)  # a tap before the last output's first read of x
    last = min(before + size, window - 1)  # a tap after the first output's last read of x
    window, before = last - first + 1, before - first
    return window, stride, (before, (outputs - 1) * stride + window - size - before)


def dilated_extent(taps: int, dilation: int) -> int:
    """How many input positions a window of `taps` taps, `dilation` apart, spans.

    >>> dilated_extent(3, 2)
    5
    """
    return (taps - 1) * dilation + 1


def output_size(size: int, window: int, stride: int, pads: tuple[int, int]) -> int:
    """Number of window positions along one padded axis (0 when none fit)."""
    return jax.core.max_dim((size + sum(pads) - window) // stride + 1, 0)


def transpose_pads(extent: int, stride: int, padding: str, output_padding: int | None) -> tuple[int, int]:
    """Keras's `conv_transpose` padding of one axis, as pads of its windows' span (a negative pad crops).

    The span of a transposed convolution is `(size - 1) * stride + extent`
    long: every position a window starting at an input position reads. Keras
    (`compute_conv_transpose_padding_args_for_jax`) pads "valid" outputs by
    `output_padding` after, or by `max(extent, stride) - extent` when it is
    None. "same" outputs are `size * stride` long when it is None, and else
    `(size - 1) * stride + extent % 2 + output_padding`; the crop before is
    the larger half, at most `extent - 1`.

    >>> transpose_pads(3, 2, "valid", None), transpose_pads(3, 2, "same", None), transpose_pads(4, 2, "same", 1)
    ((0, 0), (0, -1), (-1, -2))
    """
    if padding == "valid":
        return (0, max(extent, stride) - extent if output_padding is None else output_padding)
    total = stride + extent - 2 if output_padding is None else extent + extent % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, extent - 1)
    return (before - (extent - 1), total - before - (extent - 1))


def transposed_size(size: int, extent: int, stride: int, pads: tuple[int, int]) -> int:
    """The length of a transposed convolution's output along one axis: its span, padded.

    >>> transposed_size(5, 3, 2, (-1, 0))  # "same": 5 * 2
    10
    """
    return (size - 1) * stride + extent + sum(pads)


def lowest(dtype: jnp.dtype) -> jax.Array:
    """The identity of `max`: -inf for floats (and complex), the smallest value for ints, False."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.array(-jnp.inf, dtype)
    if dtype == jnp.bool_:
        return jnp.array(False)
    return jnp.array(jnp.iinfo(dtype).min, dtype)


def window_offsets(window: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, ...]]:
    """Offsets of every tap of a window, in row-major (Keras's) order.

    >>> window_offsets((2, 2), (1, 3))
    [(0, 0), (0, 3), (1, 0), (1, 3)]
    """
    ranges = [range(0, w * d, d) for w, d in zip(window, dilation)]
    return list(itertools.product(*ranges))


def tap_window(padded: jax.Array, offset: Sequence[int], out_shape: Sequence[int], strides: Sequence[int]) -> jax.Array:
    """The strided view of `padded` that one window tap sees, at every output.

    `offset`, `out_shape` and `strides` cover every axis of `padded`; all are
    static. Wraps a strided `lax.slice`.
    """
    limits = [start + (n - 1) * s + 1 for start, n, s in zip(offset, out_shape, strides)]
    return jax.lax.slice(padded, tuple(offset), tuple(limits), tuple(strides))


def add_windows_back(
    windows: Sequence[jax.Array], offsets: Sequence[Sequence[int]], strides: Sequence[int], shape: Sequence[int]
) -> jax.Array:
    """The transpose of `tap_window`: sums every window back where it was read.

    `offsets[t]` (window `t`'s), `strides` and `shape` (the padded input's)
    cover every axis. Along an axis with stride `s`, a window reads every
    `s`-th position from its offset: one of `s` phases (the positions equal
    mod `s`), and within that phase a contiguous range. So each phase sums
    its windows with edge padding alone, and the phases are then interleaved.
    Spreading each window out with interior padding instead made XLA visit
    every tap at every position: 3x slower for a 7x7 stride-2 stem. Wraps
    `lax.pad`.
    """
    phase_shape = [-(-size // stride) for size, stride in zip(shape, strides)]
    zero = jnp.zeros((), windows[0].dtype)
    sums = {}
    for window, offset in zip(windows, offsets):
        phase = tuple(start % stride for start, stride in zip(offset, strides))
        edges = [
            (start // stride, extent - start // stride - count, 0)
            for start, stride, extent, count in zip(offset, strides, phase_shape, window.shape)
        ]
        spread = jax.lax.pad(window, zero, edges)
        sums[phase] = sums[phase] + spread if phase in sums else spread
    phases = [sums.get(phase, jnp.zeros(phase_shape, zero.dtype)) for phase in itertools.product(*map(range, strides))]
    rank = len(shape)
    stacked = jnp.stack(phases).reshape(*strides, *phase_shape)  # (*s, *m)
    interleaved = stacked.transpose([i for axis in range(rank) for i in (rank + axis, axis)])  # (m0, s0, m1, s1, ...)
    full = interleaved.reshape([extent * stride for extent, stride in zip(phase_shape, strides)])  # (m0*s0, ...)
    return full[tuple(slice(0, size) for size in shape)]


# A pooling's window, strides and pads over every axis of its input.
PoolGeometry = tuple[tuple[int, ...], tuple[int, ...], Pads]


def pool_geometry(
    x: jax.Array, pool_size: int | Sequence[int], strides: int | Sequence[int] | None, padding: str, data_format: str
) -> PoolGeometry:
    """Validated window, strides and pads of a pooling, over every axis of `x`.

    A window that reaches far into the padding is trimmed (`trim_window`)
    where the sizes are known. A valid window larger than the input leaves
    no output position: the output is then empty, as XLA's is.
    """
    rank = spatial_rank(x)
    pool_size = ntuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else ntuple(strides, rank, "strides")
    padding = normalize_padding(padding)
    axes = spatial_axes(x.ndim, normalize_data_format(data_format))
    window, full_strides, pads = [1] * x.ndim, [1] * x.ndim, [(0, 0)] * x.ndim
    for axis, size, stride in zip(axes, pool_size, strides):
        pads[axis] = window_pads(x.shape[axis], size, stride, padding)
        window[axis], full_strides[axis] = size, stride
        if is_static(x.shape):
            window[axis], full_strides[axis], pads[axis] = trim_window(x.shape[axis], size, stride, pads[axis])
    return tuple(window), tuple(full_strides), tuple(pads)
