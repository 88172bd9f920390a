"""The convolution core: a padded channels-last batch (any number of spatial axes), one hand-written VJP.

`correlate` sums, over the kernel's taps, each tap's strided window of the
already padded input times that tap's weights. The windows are laid side by
side ("im2col", `_im2col.py`), so that one `dot_general` contracts taps and
channels together. The backward pass is written out rather than left to
autodiff: the kernel gradient is the columns contracted with the output
gradient, and the input gradient is the output gradient times the weights,
added back where each tap's window was read. Columns are built a tile at a
time (a few images, or a band of one image's rows) and a block of taps at a
time, so the copy stays a few MiB whatever the sizes.

Where the tactics allow (a CPU's do), thick stride-1 kernels of 3 taps
run by minimal filtering instead (`_winograd.py`: fewer multiplications),
and small images with few channels as banded rows (`_banded.py`). The
band's zeros meet the data in two products, the forward pass's and the
input gradient's, and minimal filtering's transforms mix a tile's values;
each falls back to a loop over the taps (`_TapLoop`, the correlation's
definition) when an operand it mixes holds an Inf or NaN.
docs/performance.md records what else was measured and why these won.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._banded import BandedRows
from ._channelwise import Channelwise
from ._choice import choose
from ._geometry import ConvGeometry, Pads, dilated_extent, window_offsets
from ._im2col import Im2col, sum_dtype
from ._plan import Algorithm, Plan, Tactics, on_each_platform
from ._taps import sure_outputs
from ._winograd import Winograd


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def correlate(
    x: jax.Array, kernel: jax.Array, bias: jax.Array | None, pads: Pads, geometry: ConvGeometry, plan: Plan
) -> jax.Array:
    """`(N, *S, C) x (*K, C/G, F) -> (N, *O, F)`: `x` padded by `pads` (edges only), in the kernel's dtype.

    The sums are rounded once to the kernel's dtype, and `bias` (`(F,)`, in
    that dtype, or None) is then added, a chunk at a time, while each chunk
    of the output is still in cache. Each platform takes its own tactics
    (`on_each_platform`), inside the VJP: autodiff never meets the platform
    switch, whose residuals would otherwise be every platform's at once.
    """
    forward = functools.partial(_forward, pads=pads, geometry=geometry)
    return on_each_platform(forward, plan, x, kernel, bias)


def _forward(
    x: jax.Array, kernel: jax.Array, bias: jax.Array | None, *, pads: Pads, geometry: ConvGeometry, tactics: Tactics
) -> jax.Array:
    padded, operand_kernel = _operands(x, kernel, pads, tactics)
    padded, work = _sure(padded, geometry)
    finish = functools.partial(_finish, bias=bias, out_dtype=kernel.dtype)
    shapes = (padded.shape, kernel.shape, work)
    match choose(*shapes, tactics, padded.dtype).algorithm:
        case Algorithm.CHANNELWISE:
            out = finish(Channelwise(*shapes).forward(padded, operand_kernel))
        case Algorithm.MINIMAL_FILTERING:
            minimal, taps = Winograd(*shapes, tactics), _TapLoop(*shapes)
            out = lax.cond(
                _all_finite(padded, operand_kernel),
                functools.partial(minimal.forward, finish=finish),
                lambda padded, kernel: finish(taps.forward(padded, kernel)),
                padded,
                operand_kernel,
            )
        case Algorithm.BANDED_ROWS:
            # A small image's sums leave the branch in memory anyway; the bias joins them
            # after it, which keeps it out of both branches and their compile time.
            band, taps = BandedRows(*shapes), _TapLoop(*shapes)
            out = finish(lax.cond(_all_finite(padded), band.forward, taps.forward, padded, operand_kernel))
        case Algorithm.TAP_LOOP:
            out = finish(_TapLoop(*shapes).forward(padded, operand_kernel))
        case _:  # Algorithm.IM2COL
            out = Im2col(*shapes, padded.dtype.itemsize, tactics).forward(padded, operand_kernel, finish)
    return (
        out
        if work == geometry
        else lax.slice(out, (0,) * out.ndim, (out.shape[0], *geometry.out_spatial, out.shape[-1]))
    )


def _correlate_forward(x, kernel, bias, pads, geometry, plan):
    return correlate(x, kernel, bias, pads, geometry, plan), (x, kernel, bias)


def _correlate_backward(pads: Pads, geometry: ConvGeometry, plan: Plan, residuals, out_grad: jax.Array):
    x, kernel, bias = residuals
    bias_grad = None if bias is None else _broadcast_transpose(out_grad, bias)
    backward = functools.partial(_backward, pads=pads, geometry=geometry)
    return *on_each_platform(backward, plan, x, kernel, out_grad), bias_grad


def _backward(
    x: jax.Array,
    kernel: jax.Array,
    out_grad: jax.Array,
    *,
    pads: Pads,
    geometry: ConvGeometry,
    tactics: Tactics,
    wants: tuple[bool, bool] = (True, True),
) -> tuple[jax.Array | None, jax.Array | None]:
    """The input's and the kernel's gradients; None for each one not in `wants` (`Im2col.backward`)."""
    padded, operand_kernel = _operands(x, kernel, pads, tactics)
    padded, work = _sure(padded, geometry)
    out_grad = out_grad.astype(padded.dtype)  # the transpose of rounding to the kernel's dtype
    if work != geometry:  # the outputs past the real ones have a zero gradient
        out_grad = lax.pad(
            out_grad,
            jnp.zeros((), out_grad.dtype),
            [(0, 0, 0), *((0, w - n, 0) for w, n in zip(work.out_spatial, geometry.out_spatial)), (0, 0, 0)],
        )
    shapes = (padded.shape, kernel.shape, work)
    match choose(*shapes, tactics, padded.dtype).algorithm:
        case Algorithm.CHANNELWISE:
            padded_grad, kernel_grad = Channelwise(*shapes).backward(padded, operand_kernel, out_grad)
        case Algorithm.MINIMAL_FILTERING:
            minimal, taps = Winograd(*shapes, tactics), _TapLoop(*shapes)
            padded_grad, kernel_grad = lax.cond(
                _all_finite(padded, operand_kernel, out_grad),
                functools.partial(minimal.backward, wants=wants),
                functools.partial(taps.backward, wants=wants),
                padded,
                operand_kernel,
                out_grad,
            )
        case Algorithm.BANDED_ROWS:
            band, taps = BandedRows(*shapes), _TapLoop(*shapes)
            padded_grad = (
                lax.cond(_all_finite(out_grad), band.input_grad, taps.input_grad, padded, operand_kernel, out_grad)
                if wants[0]
                else None
            )
            kernel_grad = band.kernel_grad(padded, out_grad) if wants[1] else None
        case Algorithm.TAP_LOOP:
            padded_grad, kernel_grad = _TapLoop(*shapes).backward(padded, operand_kernel, out_grad, wants=wants)
        case _:  # Algorithm.IM2COL
            padded_grad, kernel_grad = Im2col(*shapes, padded.dtype.itemsize, tactics).backward(
                padded, operand_kernel, out_grad, wants=wants
            )
    if padded_grad is not None:
        unpadded = tuple(slice(before, before + size) for size, (before, _) in zip(x.shape, ((0, 0), *pads, (0, 0))))
        padded_grad = padded_grad[unpadded].astype(x.dtype)
    return padded_grad, None if kernel_grad is None else kernel_grad.astype(kernel.dtype)


def _sure(padded: jax.Array, geometry: ConvGeometry) -> tuple[jax.Array, ConvGeometry]:
    """`padded` and `geometry` extended where a symbolic size may leave no output (`_taps.sure_outputs`)."""
    extents = tuple(map(dilated_extent, geometry.window, geometry.dilation))
    extra, work = sure_outputs(padded.shape[1:-1], geometry.out_spatial, extents, geometry.strides)
    if work == geometry.out_spatial:
        return padded, geometry
    padded = lax.pad(padded, jnp.zeros((), padded.dtype), [(0, 0, 0), *((0, e, 0) for e in extra), (0, 0, 0)])
    return padded, geometry._replace(out_spatial=work)


correlate.defvjp(_correlate_forward, _correlate_backward)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def transposed_correlate(x: jax.Array, kernel: jax.Array, pads: Pads, geometry: ConvGeometry, plan: Plan) -> jax.Array:
    """`(N, *I, C) x (*K, F, C) -> (N, *L, F)`: `correlate`'s transpose, `x` in the kernel's dtype.

    Each position of `x` sends its values times every tap's weights (the
    kernel read as `(*K, C/G=F, F=C)`) back where a correlation with
    `geometry`, whose outputs are `x`'s positions, read that tap: the input
    gradient of that correlation over its windows' span, `(I - 1) * stride
    + dilated extent` long. The span is then padded by `pads` (a negative
    pad crops). So the backward pass is that correlation's forward pass
    (the input's gradient) and its kernel gradient.
    """
    return on_each_platform(functools.partial(_transpose, pads=pads, geometry=geometry), plan, x, kernel)


def _transpose(x: jax.Array, kernel: jax.Array, *, pads: Pads, geometry: ConvGeometry, tactics: Tactics) -> jax.Array:
    extents = map(dilated_extent, geometry.window, geometry.dilation)
    span = (
        x.shape[0],
        *((n - 1) * s + e for n, s, e in zip(x.shape[1:-1], geometry.strides, extents)),
        kernel.shape[-2],
    )  # (N, *Q, F)
    span_grad, _ = _backward(
        jnp.zeros(span, kernel.dtype),
        kernel,
        x,
        pads=_no_pads(geometry),
        geometry=geometry,
        tactics=tactics,
        wants=(True, False),
    )
    return lax.pad(span_grad, jnp.zeros((), span_grad.dtype), [(0, 0, 0), *((*pad, 0) for pad in pads), (0, 0, 0)])


def _transposed_forward(x, kernel, pads, geometry, plan):
    return transposed_correlate(x, kernel, pads, geometry, plan), (x, kernel)


def _transposed_backward(pads: Pads, geometry: ConvGeometry, plan: Plan, residuals, out_grad: jax.Array):
    x, kernel = residuals
    span_grad = lax.pad(
        out_grad,
        jnp.zeros((), out_grad.dtype),
        [(0, 0, 0), *((-before, -after, 0) for before, after in pads), (0, 0, 0)],
    )  # (N, *Q, F)
    x_grad = correlate(span_grad, kernel, None, _no_pads(geometry), geometry, plan)

    def kernel_grad(span_grad, kernel, x, tactics):
        return _backward(
            span_grad, kernel, x, pads=_no_pads(geometry), geometry=geometry, tactics=tactics, wants=(False, True)
        )[1]

    return x_grad.astype(x.dtype), on_each_platform(kernel_grad, plan, span_grad, kernel, x)


def _no_pads(geometry: ConvGeometry) -> Pads:
    return ((0, 0),) * len(geometry.window)


transposed_correlate.defvjp(_transposed_forward, _transposed_backward)


def _operands(x: jax.Array, kernel: jax.Array, pads: Pads, tactics: Tactics) -> tuple[jax.Array, jax.Array]:
    """`x` padded and the kernel, in the dtype the products take them in: widened first, then padded."""
    operand_dtype = operand_dtype_for(kernel.dtype, tactics)
    x = x.astype(operand_dtype)
    padded = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), *((*pad, 0) for pad in pads), (0, 0, 0)])
    return padded, kernel.astype(operand_dtype)


def operand_dtype_for(dtype: jnp.dtype, tactics: Tactics) -> jnp.dtype:
    """The dtype the products take their operands in.

    A CPU widens 16-bit floats to float32 first. An accelerator (GPU, TPU)
    multiplies them as they are (`Tactics.narrow_operands`): each product of
    two 16-bit floats is exact in float32, its sums are float32 all the same,
    and its columns move half the bytes. The 3x3 56x56x64 bfloat16 forward
    pass ran 1.2x faster on an H100.

    Integers (and complex numbers) keep their own dtype: their sums wrap
    around as XLA's integer convolution's do, exactly, where float32 would
    round large ones and saturate on the way back. Booleans are summed as
    int32, and a sum is True where it is not zero, as XLA's are.
    """
    if jnp.issubdtype(dtype, jnp.floating):
        return dtype if tactics.narrow_operands else jnp.promote_types(dtype, jnp.float32)
    return jnp.dtype(jnp.int32) if dtype == jnp.bool_ else jnp.dtype(dtype)


def _finish(out: jax.Array, *, bias: jax.Array | None, out_dtype: jnp.dtype) -> jax.Array:
    """Rounds a chunk of sums to `out_dtype`, then adds the bias, as Keras's layers do after their convolution."""
    out = out.astype(out_dtype)
    return out if bias is None else out + bias


def _broadcast_transpose(out_grad: jax.Array, bias: jax.Array) -> jax.Array:
    """The bias's gradient exactly as autodiff gives it for `out + bias`: the broadcast's transpose."""
    return jax.vjp(lambda b: jnp.broadcast_to(b, out_grad.shape), bias)[1](out_grad)[0]


def _all_finite(*operands: jax.Array) -> jax.Array:
    """Whether banded rows or minimal filtering may take `operands`.

    One Inf or NaN would spread along its row (`BandedRows`), or its tile (`Winograd`).
    """
    return jnp.stack([jnp.isfinite(x).all() for x in operands]).all()


class _TapLoop:
    """The fallback of the band and of minimal filtering, one group: the correlation's definition, a tap per step.

    The forward pass adds each tap's strided window times the tap's weights;
    the input gradient adds the output gradient times them back where that
    window was read, and the kernel gradient contracts the two. No operand
    meets a zero it should not, so an Inf or NaN stays in its own windows.
    It runs slower, but only on non-finite data, and its one loop body costs
    XLA a fraction of im2col's compile time, which every guarded layer's
    `lax.cond` pays (docs/performance.md).
    """

    def __init__(self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry):
        self.geometry, self.taps = geometry, math.prod(geometry.window)
        # Where each tap starts reading, batch and channels included: (T, rank + 2).
        self.starts = np.array(
            [(0, *offset, 0) for offset in window_offsets(geometry.window, geometry.dilation)], np.int32
        )
        # What one tap's window spans of the padded input before its stride is taken.
        extent = ((n - 1) * stride + 1 for n, stride in zip(geometry.out_spatial, geometry.strides))
        self.window_shape = (padded_shape[0], *extent, padded_shape[-1])

    def forward(self, padded: jax.Array, kernel: jax.Array) -> jax.Array:
        taps, dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), sum_dtype(padded)  # (T, C, F)

        def add_tap(t, sums):
            window = self._window(padded, t)  # (N, *O, C)
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            return sums + lax.dot_general(
                window, weights, (((window.ndim - 1,), (0,)), ((), ())), preferred_element_type=dtype
            )

        sums = jnp.zeros((padded.shape[0], *self.geometry.out_spatial, kernel.shape[-1]), dtype)  # (N, *O, F)
        return lax.fori_loop(0, self.taps, add_tap, sums)

    def input_grad(self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array) -> jax.Array:
        """`padded` gives only the shape and dtype."""
        taps, dtype = kernel.reshape(self.taps, *kernel.shape[-2:]), sum_dtype(padded)  # (T, C, F)
        spread_out = [(0, 0, 0), *((0, 0, stride - 1) for stride in self.geometry.strides), (0, 0, 0)]

        def add_tap(t, grad):
            weights = lax.dynamic_index_in_dim(taps, t, keepdims=False)  # (C, F)
            window_grad = lax.dot_general(
                out_grad, weights, (((out_grad.ndim - 1,), (1,)), ((), ())), preferred_element_type=dtype
            )  # (N, *O, C)
            window_grad = lax.pad(window_grad, jnp.zeros((), dtype), spread_out)  # (N, *window extent, C)
            start = self._start(t)
            added = lax.dynamic_slice(grad, start, self.window_shape, allow_negative_indices=False) + window_grad
            return lax.dynamic_update_slice(grad, added, start, allow_negative_indices=False)

        grad = lax.fori_loop(0, self.taps, add_tap, jnp.zeros(padded.shape, dtype))
        return grad.astype(padded.dtype)

    def kernel_grad(self, padded: jax.Array, out_grad: jax.Array) -> jax.Array:
        """`(*K, C, F)`, in `sum_dtype`: each tap's window contracted with the output gradient over the positions."""
        positions = tuple(range(padded.ndim - 1))

        def tap_grad(t, grads):
            grad = lax.dot_general(
                self._window(padded, t),
                out_grad,
                ((positions, positions), ((), ())),
                preferred_element_type=grads.dtype,
            )  # (C, F)
            return lax.dynamic_update_index_in_dim(grads, grad, t, 0)

        grads = jnp.zeros((self.taps, padded.shape[-1], out_grad.shape[-1]), sum_dtype(padded))  # (T, C, F)
        return lax.fori_loop(0, self.taps, tap_grad, grads).reshape(*self.geometry.window, *grads.shape[1:])

    def backward(
        self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool]
    ) -> tuple[jax.Array | None, jax.Array | None]:
        """`input_grad` and `kernel_grad`, None for each one not in `wants`."""
        return (
            self.input_grad(padded, kernel, out_grad) if wants[0] else None,
            self.kernel_grad(padded, out_grad) if wants[1] else None,
        )

    def _window(self, padded: jax.Array, t: jax.Array) -> jax.Array:
        """Tap `t`'s strided window, `(N, *O, C)`."""
        span = lax.dynamic_slice(padded, self._start(t), self.window_shape, allow_negative_indices=False)
        return lax.slice(span, (0,) * span.ndim, span.shape, (1, *self.geometry.strides, 1))

    def _start(self, t: jax.Array) -> jax.Array:
        """Where tap `t` starts reading: row `t` of `self.starts`."""
        return lax.dynamic_index_in_dim(self.starts, t, keepdims=False)
