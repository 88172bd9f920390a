"""An independent float64 NumPy reference for the kernels, in 1, 2 or 3 spatial dimensions.

Written straight from the definitions, one output position at a time, with
no code shared with `keras_cnn_ref`: padding sizes follow the formula in
Keras's docs (output = ceil(size / stride) for "same", the odd pad after).
"""

import itertools
import math

import numpy as np


def same_pads(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _to_last(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def _from_last(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, -1, 1)


def _pads_and_outputs(spatial, extents, strides, padding):
    pads = [same_pads(n, e, s) if padding == "same" else (0, 0) for n, e, s in zip(spatial, extents, strides)]
    outs = [(n + sum(p) - e) // s + 1 for n, p, e, s in zip(spatial, pads, extents, strides)]
    return pads, outs


def _conv_setup(x, kernel, strides, padding, dilation, data_format):
    x = _to_last(np.asarray(x, np.float64), data_format)
    kernel = np.asarray(kernel, np.float64)
    rank = kernel.ndim - 2
    extents = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:rank], dilation)]
    pads, outs = _pads_and_outputs(x.shape[1:-1], extents, strides, padding)
    return x, kernel, pads, outs, np.pad(x, [(0, 0), *pads, (0, 0)])


def _patch_index(position, kernel, strides, dilation):
    """Index arrays of the input pixels under one output position."""
    return np.ix_(*[p * s + d * np.arange(k) for p, s, d, k in zip(position, strides, dilation, kernel.shape)])


def _unpad(grad_xp, pads, spatial):
    return grad_xp[(slice(None), *(slice(before, before + n) for (before, _), n in zip(pads, spatial)))]


def conv(x, kernel, strides, padding="valid", dilation=None, groups=1, data_format="channels_last"):
    """out[n, *o, f] = sum over taps and the group's channels of x * kernel."""
    dilation = dilation or (1,) * len(strides)
    x, kernel, _, outs, xp = _conv_setup(x, kernel, strides, padding, dilation, data_format)
    cin_g, filters = kernel.shape[-2:]
    out = np.zeros((x.shape[0], *outs, filters))
    for position in itertools.product(*map(range, outs)):
        patch_index = _patch_index(position, kernel, strides, dilation)
        for o in range(filters):
            g = o // (filters // groups)
            patch = xp[(slice(None), *patch_index, slice(g * cin_g, (g + 1) * cin_g))]  # (N, *K, cin_g)
            out[(slice(None), *position, o)] = np.tensordot(patch, kernel[..., o], axes=kernel.ndim - 1)
    return _from_last(out, data_format)


def conv_vjp(x, kernel, cotangent, strides, padding="valid", dilation=None, groups=1, data_format="channels_last"):
    """Gradients of sum(conv(x, kernel) * cotangent) w.r.t. x and kernel."""
    dilation = dilation or (1,) * len(strides)
    x, kernel, pads, outs, xp = _conv_setup(x, kernel, strides, padding, dilation, data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    grad_xp, grad_kernel = np.zeros_like(xp), np.zeros_like(kernel)
    cin_g, filters = kernel.shape[-2:]
    for position in itertools.product(*map(range, outs)):
        patch_index = _patch_index(position, kernel, strides, dilation)
        for o in range(filters):
            g = o // (filters // groups)
            index = (slice(None), *patch_index, slice(g * cin_g, (g + 1) * cin_g))
            c = cotangent[(slice(None), *position, o)]  # (N,)
            grad_kernel[..., o] += np.tensordot(c, xp[index], axes=1)
            grad_xp[index] += np.multiply.outer(c, kernel[..., o])
    return _from_last(_unpad(grad_xp, pads, x.shape[1:-1]), data_format), grad_kernel


def _pool_windows(x, pool_size, strides, padding, fill):
    """The padded input, its pads, and every output position with its window's slices."""
    pads, outs = _pads_and_outputs(x.shape[1:-1], pool_size, strides, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    windows = [
        (position, tuple(slice(p * s, p * s + w) for p, s, w in zip(position, strides, pool_size)))
        for position in itertools.product(*map(range, outs))
    ]
    return xp, pads, outs, windows


def max_pool(x, cotangent, pool_size, strides, padding="valid", data_format="channels_last"):
    """The pooled batch, and the VJP of `cotangent`: each window's cotangent
    goes to its first maximal element in row-major order."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    xp, pads, outs, windows = _pool_windows(x, pool_size, strides, padding, -np.inf)
    out = np.zeros((x.shape[0], *outs, x.shape[-1]))
    grad_xp = np.zeros_like(xp)
    for position, window in windows:
        flat = xp[(slice(None), *window)].reshape(x.shape[0], math.prod(pool_size), x.shape[-1])  # (N, taps, C)
        out[(slice(None), *position)] = flat.max(axis=1)
        first = flat.argmax(axis=1)  # (N, C): argmax returns the first maximum
        n, channel = np.indices(first.shape)
        offsets = np.unravel_index(first, pool_size)
        grad_xp[(n, *(w.start + o for w, o in zip(window, offsets)), channel)] += cotangent[(slice(None), *position)]
    grad_x = _unpad(grad_xp, pads, x.shape[1:-1])
    return _from_last(out, data_format), _from_last(grad_x, data_format)


def average_pool(x, cotangent, pool_size, strides, padding="valid", data_format="channels_last"):
    """The pooled batch (pads not counted), and the VJP of `cotangent`."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    xp, pads, outs, windows = _pool_windows(x, pool_size, strides, padding, 0.0)
    real = np.pad(np.ones(x.shape[1:-1]), pads)  # 1 on input cells, 0 on pads
    out = np.zeros((x.shape[0], *outs, x.shape[-1]))
    grad_xp = np.zeros_like(xp)
    for position, window in windows:
        count = real[window].sum()
        out[(slice(None), *position)] = xp[(slice(None), *window)].sum(axis=tuple(range(1, len(window) + 1))) / count
        grad_xp[(slice(None), *window)] += cotangent[(slice(None), *position)][:, *(None,) * len(window)] / count
    grad_x = _unpad(grad_xp, pads, x.shape[1:-1])
    return _from_last(out, data_format), _from_last(grad_x, data_format)


def conv_transpose(
    x, kernel, cotangent, strides, padding="valid", output_padding=None, dilation=None, data_format="channels_last"
):
    """The transposed convolution and its VJP, as XLA defines it: the input spread `strides` apart (zeros
    between), padded by Keras's `compute_conv_transpose_padding_args_for_jax`, then correlated with the
    kernel flipped, its channel axes swapped. `kernel` is `(*K, filters, channels)`."""
    from keras.src.backend.common.backend_utils import compute_conv_transpose_padding_args_for_jax

    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    kernel = np.asarray(kernel, np.float64)
    rank = kernel.ndim - 2
    dilation = dilation or (1,) * rank
    pads = compute_conv_transpose_padding_args_for_jax(
        x.shape, kernel.shape, list(strides), padding, output_padding, list(dilation)
    )
    spread_shape = [(n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides)]
    spread = np.zeros((x.shape[0], *spread_shape, x.shape[-1]))
    spread[(slice(None), *(slice(None, None, s) for s in strides))] = x
    # Pads may be negative (a crop): pad by the positive part, then crop the negative.
    padded = np.pad(spread, [(0, 0), *((max(a, 0), max(b, 0)) for a, b in pads), (0, 0)])
    crop = (slice(None), *(slice(max(-a, 0), padded.shape[i + 1] - max(-b, 0)) for i, (a, b) in enumerate(pads)))
    flipped = np.flip(kernel, axis=tuple(range(rank))).swapaxes(-1, -2)  # (*K, C, F)
    out = conv(padded[crop], flipped, strides=(1,) * rank, dilation=dilation)
    grad_padded, grad_flipped = conv_vjp(padded[crop], flipped, cotangent, (1,) * rank, dilation=dilation)
    grad_full = np.zeros_like(padded)
    grad_full[crop] = grad_padded
    grad_spread = grad_full[
        (slice(None), *(slice(max(a, 0), max(a, 0) + n) for (a, _), n in zip(pads, spread_shape)), slice(None))
    ]
    grad_x = grad_spread[(slice(None), *(slice(None, None, s) for s in strides))]
    grad_kernel = np.flip(grad_flipped.swapaxes(-1, -2), axis=tuple(range(rank)))
    return _from_last(out, data_format), _from_last(grad_x, data_format), grad_kernel


def adaptive_windows(size, n):
    """Window `i` of `n` along an axis of `size`: `[floor(i * size / n), ceil((i + 1) * size / n))`."""
    return [slice(i * size // n, -(-(i + 1) * size // n)) for i in range(n)]


def adaptive_pool(x, cotangent, output_size, mode, data_format="channels_last"):
    """Adaptive max or average pooling and its VJP. A max window's gradient goes to its maximum that comes
    first with the last axis most significant: Keras pools one axis at a time, first to last, each taking the
    first maximum, so the last axis's pick is decided last, and so first."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    windows = [adaptive_windows(size, n) for size, n in zip(x.shape[1:-1], output_size)]
    out = np.zeros((x.shape[0], *output_size, x.shape[-1]))
    grad = np.zeros_like(x)
    for position in itertools.product(*map(range, output_size)):
        window = tuple(w[p] for w, p in zip(windows, position))
        values = x[(slice(None), *window)]  # (N, *w, C)
        c = cotangent[(slice(None), *position)]  # (N, C)
        if mode == "average":
            out[(slice(None), *position)] = values.mean(axis=tuple(range(1, values.ndim - 1)))
            grad[(slice(None), *window)] += c[:, *(None,) * len(window)] / values[0, ..., 0].size
            continue
        reversed_axes = values.transpose(0, *range(values.ndim - 2, 0, -1), values.ndim - 1)  # last axis first
        flat = reversed_axes.reshape(x.shape[0], -1, x.shape[-1])  # (N, taps, C)
        out[(slice(None), *position)] = flat.max(axis=1)
        first = flat.argmax(axis=1)
        n, channel = np.indices(first.shape)
        offsets = np.unravel_index(first, values.shape[1:-1][::-1])[::-1]
        grad[(n, *(w.start + o for w, o in zip(window, offsets)), channel)] += c
    return _from_last(out, data_format), _from_last(grad, data_format)
