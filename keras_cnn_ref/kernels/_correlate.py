"""The convolution core: a padded channels-last batch (any number of spatial axes), one hand-written VJP.

`correlate` computes one correlation by the algorithm the plan's policy and
the platform's tactics choose (`_choice.choose`, from `algorithms/`): im2col
in general, banded rows for small images with few channels, the
channel-wise sum for depthwise kernels, kn2row for few filters, and under
the `fast` policy minimal filtering for thick stride-1 kernels of 3 taps.
The backward pass is written out rather than left to autodiff, by the same
algorithm as the forward pass. Every algorithm offers the same two passes
(`algorithms.guard.Correlation`); one that mixes values runs behind the
guard (`Guarded`), which falls back to the tap loop, the correlation's
definition, when an operand it mixes holds an Inf or NaN. Each algorithm
runs in a scope of its name (`algorithms_run` reads them from a jaxpr).
docs/performance.md records what was measured and why these won.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

from ._choice import Choice, choose
from ._taps import sure_outputs
from .algorithms.banded_rows import BandedRows
from .algorithms.channelwise import Channelwise
from .algorithms.guard import Correlation, Guarded
from .algorithms.im2col import Im2col
from .algorithms.kn2row import Kn2row
from .algorithms.minimal_filtering import Winograd
from .algorithms.tap_loop import TapLoop
from .geometry import ConvGeometry, Pads, dilated_extent
from .plan import Algorithm, Plan, Policy, Tactics, on_each_platform, operand_dtype_for


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
    forward = functools.partial(_forward, pads=pads, geometry=geometry, policy=plan.policy, autotune=plan.autotune)
    return on_each_platform(forward, plan, x, kernel, bias)


def _forward(
    x: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None,
    *,
    pads: Pads,
    geometry: ConvGeometry,
    tactics: Tactics,
    policy: Policy | Algorithm,
    autotune: str | bool,
) -> jax.Array:
    padded, operand_kernel = _operands(x, kernel, pads, tactics)
    padded, work = _sure(padded, geometry)
    finish = functools.partial(_finish, bias=bias, out_dtype=kernel.dtype)
    shapes = (padded.shape, kernel.shape, work)
    choice = choose(*shapes, tactics, padded.dtype, policy, kernel.dtype, autotune)
    with jax.named_scope(choice.algorithm.value):
        out = _algorithm(choice, shapes, padded.dtype).forward(padded, operand_kernel, finish)
    return (
        out
        if work == geometry
        else lax.slice(out, (0,) * out.ndim, (out.shape[0], *geometry.out_spatial, out.shape[-1]))
    )


def _algorithm(choice: Choice, shapes: tuple, dtype: jnp.dtype) -> Correlation:
    """`choice`'s algorithm for these shapes, behind the guard where the choice names a fallback."""
    tactics = choice.tactics
    match choice.algorithm:
        case Algorithm.IM2COL:
            algorithm = Im2col(*shapes, jnp.dtype(dtype).itemsize, tactics)
        case Algorithm.MINIMAL_FILTERING:
            algorithm = Winograd(*shapes, tactics)
        case _:
            algorithm = _BY_SHAPES[choice.algorithm](*shapes)
    return algorithm if choice.fallback is None else Guarded(algorithm, TapLoop(*shapes))


# The algorithms built from the shapes alone.
_BY_SHAPES = {
    Algorithm.TAP_LOOP: TapLoop,
    Algorithm.BANDED_ROWS: BandedRows,
    Algorithm.CHANNELWISE: Channelwise,
    Algorithm.KN2ROW: Kn2row,
}


def _correlate_forward(x, kernel, bias, pads, geometry, plan):
    return correlate(x, kernel, bias, pads, geometry, plan), (x, kernel, bias)


def _correlate_backward(pads: Pads, geometry: ConvGeometry, plan: Plan, residuals, out_grad: jax.Array):
    x, kernel, bias = residuals
    bias_grad = None if bias is None else _broadcast_transpose(out_grad, bias)
    backward = functools.partial(_backward, pads=pads, geometry=geometry, policy=plan.policy, autotune=plan.autotune)
    return *on_each_platform(backward, plan, x, kernel, out_grad), bias_grad


def _backward(
    x: jax.Array,
    kernel: jax.Array,
    out_grad: jax.Array,
    *,
    pads: Pads,
    geometry: ConvGeometry,
    tactics: Tactics,
    policy: Policy | Algorithm,
    autotune: str | bool,
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
    choice = choose(*shapes, tactics, padded.dtype, policy, kernel.dtype, autotune)
    with jax.named_scope(choice.algorithm.value):
        algorithm = _algorithm(choice, shapes, padded.dtype)
        padded_grad, kernel_grad = algorithm.backward(padded, operand_kernel, out_grad, wants=wants)
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
    transpose = functools.partial(_transpose, pads=pads, geometry=geometry, policy=plan.policy, autotune=plan.autotune)
    return on_each_platform(transpose, plan, x, kernel)


def _transpose(
    x: jax.Array,
    kernel: jax.Array,
    *,
    pads: Pads,
    geometry: ConvGeometry,
    tactics: Tactics,
    policy: Policy | Algorithm,
    autotune: str | bool,
) -> jax.Array:
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
        policy=policy,
        autotune=autotune,
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
            span_grad,
            kernel,
            x,
            pads=_no_pads(geometry),
            geometry=geometry,
            tactics=tactics,
            policy=plan.policy,
            autotune=plan.autotune,
            wants=(False, True),
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


def _finish(out: jax.Array, *, bias: jax.Array | None, out_dtype: jnp.dtype) -> jax.Array:
    """Rounds a chunk of sums to `out_dtype`, then adds the bias, as Keras's layers do after their convolution."""
    out = out.astype(out_dtype)
    return out if bias is None else out + bias


def _broadcast_transpose(out_grad: jax.Array, bias: jax.Array) -> jax.Array:
    """The bias's gradient exactly as autodiff gives it for `out + bias`: the broadcast's transpose."""
    return jax.vjp(lambda b: jnp.broadcast_to(b, out_grad.shape), bias)[1](out_grad)[0]
