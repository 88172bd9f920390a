"""Winograd's minimal filtering: a stride-1 correlation with fewer multiplications.

F(m, r) computes `m` outputs of an `r`-tap correlation from a tile of
`alpha = m + r - 1` inputs with `alpha` multiplications, where the direct
sum takes `m * r` (Lavin and Gray, "Fast Algorithms for Convolutional
Neural Networks", 2016). Along each spatial axis the padded input is cut
into tiles of `alpha` values, `m` apart, and:

1. the input transform `B^T d` takes each tile to `alpha` values, and the
   kernel transform `G g` each row of taps; they are additions of strided
   slices, which XLA fuses;
2. each of the `alpha^d` transformed positions is one matrix product over
   the channels, `(tiles, C) x (C, F)`: all of them one batched `dot_general`;
3. the output transform `A^T M` takes them back to `m^d` outputs per tile.

Every transform is separable, one 1-D transform per spatial axis, so one
code path serves 1-, 2- and 3-D. The matrices are Cook and Toom's, built
exactly (`minimal_filtering`). A 3x3 convolution in 2-D takes 16 products
per 2x2 tile with F(2, 3), where the direct sum takes 36, and 36 per 4x4
tile with F(4, 3), where it takes 144. A dilated kernel is split into
phases, each an undilated correlation of every `dilation`-th input.

The backward pass stays in the transformed domain: the products are linear
in each operand, so the input gradient and the kernel gradient are their
transposes (`jax.linear_transpose`): the output gradient through `A`, one
batched product with the transformed kernel (or the transformed input),
then back through `B` (or `G`).

The transforms mix a tile's values, so one Inf or NaN reaches every output
of its tile, and the caller must see that the operands are finite
(`_correlate`). Their rounding grows with the tile: the bounds measured
against the float64 reference are in docs/performance.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..geometry import ConvGeometry, is_static, window_offsets
from ..plan import Tactics, sum_dtype
from .guard import unfinished

# Cook-Toom's interpolation points, in the order that keeps the transforms' values smallest.
POINTS = (*map(Fraction, (0, 1, -1, 2, -2)), Fraction(1, 2), Fraction(-1, 2))


def minimal_filtering(tile: int, taps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(B^T, G, A^T)` of F(tile, taps): `A^T [(G g) * (B^T d)]` correlates `d` (`tile + taps - 1` values) with `g`.

    Cook and Toom's construction over the points 0, 1, -1, 2, -2, 1/2, ...
    and infinity, computed in fractions. `B^T` and `A^T` hold products of
    the points, which are integers or halves, exact in every float format
    (the divisions go into `G`); returned in float64.

    >>> bt, g, at = minimal_filtering(2, 3)
    >>> at @ ((g @ np.array([1.0, 2.0, 3.0])) * (bt @ np.arange(4.0)))  # [0+2+6, 1+4+9]
    array([ 8., 14.])
    """
    alpha = tile + taps - 1
    if not 2 <= alpha <= len(POINTS) + 1:
        raise ValueError(f"F(tile, taps) needs 2 to {len(POINTS) + 1} points. Received: tile={tile}, taps={taps}")
    points = POINTS[: alpha - 1]  # and infinity
    bt, g = [], []
    for j, point in enumerate(points):
        others = points[:j] + points[j + 1 :]
        scale = math.prod(point - other for other in others)
        bt.append([c * (1 if scale > 0 else -1) for c in _monic(others)] + [0])
        g.append([point**k / abs(scale) for k in range(taps)])
    bt.append(_monic(points))
    g.append([0] * (taps - 1) + [1])
    at = [[point**i for point in points] + [int(i == tile - 1)] for i in range(tile)]
    return tuple(np.array(m, np.float64) for m in (bt, g, at))


def _monic(roots: Sequence[Fraction]) -> list[Fraction]:
    """The coefficients, lowest power first, of the product of `x - root` over `roots`."""
    coefficients = [Fraction(1)]
    for root in roots:
        coefficients = [low - root * high for low, high in zip([0, *coefficients], [*coefficients, 0])]
    return coefficients


def uses_winograd(
    padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry, tactics: Tactics, dtype: jnp.dtype
) -> bool:
    """Whether `tactics` take this correlation by minimal filtering (`Tactics.winograd_tile`).

    It needs floats, one group, stride 1, static shapes, a kernel of 3 taps
    along every axis (or 5, in 1-D) and `tactics.winograd_min_channels` in
    and out, and it leaves an image whose transformed input would not fit
    `Tactics.chunk_bytes` eight times over to im2col's flat memory.

    >>> uses_winograd((32, 30, 30, 128), (3, 3, 128, 128), ConvGeometry((3, 3), (1, 1), (1, 1), 1, (28, 28)),
    ...               Tactics(winograd_tile=4), jnp.float32)
    True
    """
    rank, taps = len(geometry.window), set(geometry.window)
    if (
        not tactics.winograd_tile
        or not jnp.issubdtype(dtype, jnp.floating)
        or geometry.groups != 1
        or set(geometry.strides) != {1}
        or not is_static((*padded_shape, *geometry.out_spatial))
        or not taps <= ({3, 5} if rank == 1 else {3})
        or tactics.winograd_tile + max(taps) > len(POINTS) + 2
        or min(kernel_shape[-2:]) < tactics.winograd_min_channels
    ):
        return False
    return Winograd(padded_shape, kernel_shape, geometry, tactics).image_bytes <= 8 * tactics.chunk_bytes


class Winograd:
    """One correlation, `(N, *Sp, C) x (*K, C, F) -> (N, *O, F)` over a padded input, by minimal filtering.

    A dilated axis keeps its phases in place: its length is read as `(n,
    dilation)`, and the tiles run along `n`, so each phase is an undilated
    correlation of every `dilation`-th input and nothing moves. The batch
    goes a chunk of images at a time, each chunk's transformed input and
    products within twice `tactics.chunk_bytes`: im2col's columns run best
    in smaller chunks than these products do (docs/performance-history.md).
    """

    def __init__(
        self, padded_shape: Sequence[int], kernel_shape: Sequence[int], geometry: ConvGeometry, tactics: Tactics
    ):
        self.geometry, self.rank, self.tile = geometry, len(geometry.window), tactics.winograd_tile
        self.images, *spatial, channels = padded_shape
        window, dilation = geometry.window, geometry.dilation
        phase_out = (-(-p // d) - r + 1 for p, d, r in zip(spatial, dilation, window))  # each phase's outputs
        self.tiles = tuple(-(-o // self.tile) for o in phase_out)
        # What whole tiles of every phase read along each axis, `(n, dilation)`.
        self.phased = tuple((t * self.tile + r - 1, d) for t, r, d in zip(self.tiles, window, dilation))
        self.lengths = tuple(n * d for n, d in self.phased)  # the padded input's, zeros up to whole tiles
        matrices = [minimal_filtering(self.tile, r) for r in window]
        self.input_rows = [bt.tolist() for bt, _, _ in matrices]  # B^T per axis, applied as additions
        # G and A^T of every axis at once (their Kronecker product): one small product each.
        self.kernel_matrix = functools.reduce(np.kron, [g for _, g, _ in matrices])  # (A, R)
        self.output_matrix = functools.reduce(np.kron, [at for _, _, at in matrices])  # (m^d, A)
        positions = math.prod(t * d for t, d in zip(self.tiles, dilation))  # tiles of all phases, one image
        self.image_bytes = self.output_matrix.shape[1] * positions * (channels + kernel_shape[-1]) * 4
        self.chunk = max(
            b
            for b in range(1, self.images + 1)
            if self.images % b == 0 and b * self.image_bytes <= max(2 * tactics.chunk_bytes, self.image_bytes)
        )

    def forward(self, padded: jax.Array, kernel: jax.Array, finish: Callable = unfinished) -> jax.Array:
        """The sums, `(N, *O, F)`, in `sum_dtype` (the transforms never round to a 16-bit float), through `finish`.

        Each chunk's sums are cropped and finished (rounding, bias) as they
        are laid out, while still in cache. An output whose window reads
        only zeros is exactly zero, as a direct sum's is (`_any_in_windows`).
        """
        dtype = sum_dtype(padded)
        u = self._kernel_transform(kernel.astype(dtype))
        x = self._phases(padded.astype(dtype))

        def chunk_sums(chunk):
            read = (chunk != 0).any(-1).reshape(chunk.shape[0], *self.lengths)  # (b, *tiled)
            sums = jnp.where(_any_in_windows(read, self.geometry)[..., None], self._crop(self._products(chunk, u)), 0)
            return finish(sums)

        if self.chunk == self.images:
            return chunk_sums(x)
        out = lax.map(chunk_sums, x.reshape(-1, self.chunk, *x.shape[1:]))  # (N/b, b, *O, F)
        return out.reshape(-1, *out.shape[2:])  # (N, *O, F)

    def backward(
        self, padded: jax.Array, kernel: jax.Array, out_grad: jax.Array, *, wants: tuple[bool, bool] = (True, True)
    ) -> tuple[jax.Array | None, jax.Array | None]:
        """The padded input's gradient (in its dtype) and the kernel's (in `sum_dtype`); None for those not in `wants`.

        A transposed convolution's forward pass wants the input gradient
        alone: `padded` then gives only the shape and dtype.
        """
        wants_input, wants_kernel = wants
        dtype = sum_dtype(padded)
        u, kernel_transpose = jax.vjp(self._kernel_transform, kernel.astype(dtype))
        x = self._phases(padded.astype(dtype))

        def chunk_grads(u_grad, chunk):
            x, grad = chunk
            m = jax.ShapeDtypeStruct((u.shape[0], math.prod(self._tiles(x.shape[0])), u.shape[-1]), dtype)
            m_grad = jax.linear_transpose(lambda m: self._crop(self._output_transform(m, x.shape[0])), m)(
                grad.astype(dtype)
            )[0]  # (A, b * T, F)
            x_grad = None
            if wants_input:
                v_grad = lax.dot_general(
                    m_grad, u, (((2,), (2,)), ((0,), (0,))), preferred_element_type=dtype
                )  # (A, b * T, C)
                x_grad = jax.linear_transpose(self._input_transform, x)(v_grad)[0]  # (b, *phased, C)
                # Where no window reads a nonzero gradient, exactly zero (a transposed convolution's forward pass).
                sent = _any_in_windows((grad != 0).any(-1), self.geometry, adjoint=True)  # (b, *Sp)
                x_grad = jnp.where(self._phases(sent[..., None]), x_grad, 0)  # (b, *phased, 1) against C
            if wants_kernel:
                u_grad = u_grad + lax.dot_general(
                    self._input_transform(x), m_grad, (((1,), (1,)), ((0,), (0,))), preferred_element_type=dtype
                )  # (A, C, F)
            return u_grad, x_grad

        u_grad = jnp.zeros(u.shape, dtype) if wants_kernel else None
        if self.chunk == self.images:
            u_grad, x_grad = chunk_grads(u_grad, (x, out_grad))
        else:
            chunks = (x.reshape(-1, self.chunk, *x.shape[1:]), out_grad.reshape(-1, self.chunk, *out_grad.shape[1:]))
            u_grad, x_grad = lax.scan(chunk_grads, u_grad, chunks)
            x_grad = None if x_grad is None else x_grad.reshape(x.shape)
        padded_grad = (
            None
            if x_grad is None
            else jax.linear_transpose(self._phases, jax.ShapeDtypeStruct(padded.shape, dtype))(x_grad)[0].astype(
                padded.dtype
            )
        )
        return padded_grad, None if u_grad is None else kernel_transpose(u_grad)[0]

    def mixed(self, wants: tuple[bool, bool] | None = None) -> tuple[int, ...]:
        """Every operand: the transforms mix a tile's values."""
        return (0, 1) if wants is None else (0, 1, 2)

    def _phases(self, padded: jax.Array) -> jax.Array:
        """`(N, *Sp, C) -> (N, n_1, [d_1], ..., C)`: zeros up to whole tiles, a dilated axis read as `(n, dilation)`."""
        x = lax.pad(
            padded,
            jnp.zeros((), padded.dtype),
            [(0, 0, 0), *((0, n - p, 0) for n, p in zip(self.lengths, padded.shape[1:-1])), (0, 0, 0)],
        )
        return x.reshape(x.shape[0], *_dilated(self.phased), x.shape[-1])

    def _tiles(self, images: int) -> tuple[int, ...]:
        """`(b, t_1, [d_1], ...)`: the tiles of every phase, in the order the outputs interleave them."""
        return (images, *_dilated((t, d) for t, (_, d) in zip(self.tiles, self.phased)))

    def _crop(self, out: jax.Array) -> jax.Array:
        """The outputs past the real ones, that whole tiles computed, dropped."""
        return lax.slice(out, (0,) * out.ndim, (out.shape[0], *self.geometry.out_spatial, out.shape[-1]))

    def _products(self, x: jax.Array, u: jax.Array) -> jax.Array:
        """`(b, n_1, [d_1], ..., C) x (A, C, F) -> (b, *tiled out, F)`: transform, one batched product, transform back."""
        m = lax.dot_general(
            self._input_transform(x), u, (((2,), (1,)), ((0,), (0,))), preferred_element_type=x.dtype
        )  # (A, b * T, F)
        return self._output_transform(m, x.shape[0])

    def _input_transform(self, x: jax.Array) -> jax.Array:
        """`(b, n_1, [d_1], ..., C) -> (A, b * T, C)`: `B^T d` along each axis, as additions of strided slices."""
        v = x
        for axis in reversed(range(self.rank)):  # its alpha values go first: `rank` axes before its `n`, and the d's
            phase_axes = sum(d > 1 for _, d in self.phased[:axis])
            v = _transform(v, self.input_rows[axis], self.rank + phase_axes, self.tile)
        return v.reshape(self.output_matrix.shape[1], -1, v.shape[-1])  # (A, b * T, C)

    def _output_transform(self, m: jax.Array, images: int) -> jax.Array:
        """`(A, b * T, F) -> (b, *tiled out, F)`: `A^T M` along every axis at once, each tile's outputs in place."""
        y = _exact_dot(self.output_matrix, m)  # (m^d, b * T, F)
        y = y.reshape(*(self.tile,) * self.rank, *self._tiles(images), -1)  # (*m, b, t_1, [d_1], ..., F)
        order, tile_axis = [self.rank], self.rank + 1
        for axis, (_, d) in enumerate(self.phased):
            order += [tile_axis, axis, tile_axis + 1][: 3 if d > 1 else 2]
            tile_axis += 1 + (d > 1)
        y = y.transpose(*order, y.ndim - 1)  # (b, t_1, m, [d_1], ..., F)
        return y.reshape(images, *(t * self.tile * d for t, (_, d) in zip(self.tiles, self.phased)), -1)

    def _kernel_transform(self, kernel: jax.Array) -> jax.Array:
        """`(*K, C, F) -> (A, C, F)`: `G g` along each axis."""
        taps = kernel.reshape(-1, math.prod(kernel.shape[-2:]))  # (R, C * F)
        return _exact_dot(self.kernel_matrix, taps).reshape(-1, *kernel.shape[-2:])  # (A, C, F)


def _exact_dot(matrix: np.ndarray, x: jax.Array) -> jax.Array:
    """`matrix @ x` over `x`'s first axis, in `x`'s dtype, at full precision on every platform."""
    return lax.dot_general(
        jnp.asarray(matrix, x.dtype),
        x,
        (((1,), (0,)), ((), ())),
        precision=lax.Precision.HIGHEST,
        preferred_element_type=x.dtype,
    )


def _any_in_windows(nonzero: jax.Array, geometry: ConvGeometry, adjoint: bool = False) -> jax.Array:
    """`(b, *Sp) -> (b, *O)`: whether each output's window reads a True of `nonzero`; or, `adjoint`,
    `(b, *O) -> (b, *Sp)`: whether a True output reads each input.

    Where every value a window reads is zero, a direct sum is exactly zero,
    while a transform leaves the round-off of its tile's other values
    there. A ReLU after it would see +-1e-9 for 0, and its gradient, a max
    pool's ties and a training run would part from built-in Keras's, so
    minimal filtering sets those outputs to zero.
    """
    offsets = window_offsets(geometry.window, geometry.dilation)
    extents = [(w - 1) * d for w, d in zip(geometry.window, geometry.dilation)]
    if adjoint:
        nonzero = lax.pad(nonzero, False, [(0, 0, 0), *((e, e, 0) for e in extents)])  # (b, *O + 2e)
        sizes = [n - e for n, e in zip(nonzero.shape[1:], extents)]  # (b, *Sp)
        offsets = [tuple(e - o for o, e in zip(offset, extents)) for offset in offsets]
    else:
        sizes = geometry.out_spatial
    return functools.reduce(
        jnp.logical_or,
        [
            lax.slice(nonzero, (0, *offset), (nonzero.shape[0], *(o + n for o, n in zip(offset, sizes))))
            for offset in offsets
        ],
    )


def _dilated(pairs) -> list[int]:
    """`(n, d)` pairs flattened, each `d` of 1 left out."""
    return [size for n, d in pairs for size in ((n, d) if d > 1 else (n,))]


def _transform(x: jax.Array, matrix: Sequence[Sequence[float]], axis: int, step: int) -> jax.Array:
    """`matrix` applied to every tile along `axis` (tiles `step` apart): its rows become a new first axis."""
    count = (x.shape[axis] - len(matrix[0])) // step + 1
    parts = [lax.slice_in_dim(x, k, k + step * (count - 1) + 1, step, axis) for k in range(len(matrix[0]))]
    return jnp.stack([_combine(parts, row) for row in matrix])


def _combine(parts: Sequence[jax.Array], row: Sequence[float]) -> jax.Array:
    """`sum(c * part)` over `row`'s coefficients, skipping zeros, with no product by 1 or -1."""
    total = None
    for coefficient, part in zip(row, parts):
        if total is None and coefficient:
            total = part if coefficient == 1 else part * coefficient
        elif coefficient in (1, -1):
            total = total + part if coefficient == 1 else total - part
        elif coefficient:
            total = total + part * coefficient
    return total
