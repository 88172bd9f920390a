"""An independent float64 NumPy reference for the kernels.

Written straight from the definitions, one output position at a time, with
no code shared with `keras_cnn_ref`: padding sizes follow the formula in
Keras's docs (output = ceil(size / stride) for "same", the odd pad after).
"""

import numpy as np


def same_pads(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _to_last(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def _from_last(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, -1, 1)


def _conv_geometry(x, kernel, strides, padding, dilation):
    (kh, kw), (sh, sw), (dh, dw) = kernel.shape[:2], strides, dilation
    extent_h, extent_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [same_pads(x.shape[1], extent_h, sh), same_pads(x.shape[2], extent_w, sw)]
    out_h = (x.shape[1] + sum(pads[0]) - extent_h) // sh + 1
    out_w = (x.shape[2] + sum(pads[1]) - extent_w) // sw + 1
    return pads, out_h, out_w


def _patch_index(i, j, kernel, strides, dilation):
    """Row and column index arrays of the input pixels under output (i, j)."""
    rows = i * strides[0] + dilation[0] * np.arange(kernel.shape[0])
    cols = j * strides[1] + dilation[1] * np.arange(kernel.shape[1])
    return np.ix_(rows, cols)


def conv2d(x, kernel, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1,
           data_format="channels_last"):
    """out[n, i, j, o] = sum over taps and the group's channels of x * kernel."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    kernel = np.asarray(kernel, np.float64)
    pads, out_h, out_w = _conv_geometry(x, kernel, strides, padding, dilation)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    cin_g, filters = kernel.shape[2:]
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = _patch_index(i, j, kernel, strides, dilation)
            for o in range(filters):
                g = o // (filters // groups)
                patch = xp[:, rows, cols, g * cin_g:(g + 1) * cin_g]  # (N, kh, kw, cin_g)
                out[:, i, j, o] = np.einsum("nhwc,hwc->n", patch, kernel[..., o])
    return _from_last(out, data_format)


def conv2d_vjp(x, kernel, cotangent, strides=(1, 1), padding="valid", dilation=(1, 1),
               groups=1, data_format="channels_last"):
    """Gradients of sum(conv2d(x, kernel) * cotangent) w.r.t. x and kernel."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    kernel = np.asarray(kernel, np.float64)
    pads, out_h, out_w = _conv_geometry(x, kernel, strides, padding, dilation)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    grad_xp, grad_kernel = np.zeros_like(xp), np.zeros_like(kernel)
    cin_g, filters = kernel.shape[2:]
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = _patch_index(i, j, kernel, strides, dilation)
            for o in range(filters):
                g = o // (filters // groups)
                channels = slice(g * cin_g, (g + 1) * cin_g)
                c = cotangent[:, i, j, o]
                grad_kernel[..., o] += np.einsum("n,nhwc->hwc", c, xp[:, rows, cols, channels])
                grad_xp[:, rows, cols, channels] += np.einsum("n,hwc->nhwc", c, kernel[..., o])
    (top, _), (left, _) = pads
    grad_x = grad_xp[:, top:top + x.shape[1], left:left + x.shape[2]]
    return _from_last(grad_x, data_format), grad_kernel


def max_pool2d(x, cotangent, pool_size, strides, padding="valid", data_format="channels_last"):
    """The pooled batch, and the VJP of `cotangent`: each window's cotangent
    goes to its first maximal element in row-major order."""
    x = _to_last(np.asarray(x, np.float64), data_format)
    cotangent = _to_last(np.asarray(cotangent, np.float64), data_format)
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [same_pads(x.shape[1 + a], pool_size[a], strides[a]) for a in (0, 1)]
    xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=-np.inf)
    out_h = (xp.shape[1] - pool_size[0]) // strides[0] + 1
    out_w = (xp.shape[2] - pool_size[1]) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    grad_x = np.zeros_like(xp)
    for i in range(out_h):
        for j in range(out_w):
            r, c = i * strides[0], j * strides[1]
            window = xp[:, r:r + pool_size[0], c:c + pool_size[1]]  # (N, ph, pw, C)
            flat = window.reshape(x.shape[0], pool_size[0] * pool_size[1], x.shape[3])
            out[:, i, j] = flat.max(axis=1)
            first = flat.argmax(axis=1)  # (N, C): argmax returns the first maximum
            n, ch = np.indices(first.shape)
            grad_x[n, r + first // pool_size[1], c + first % pool_size[1], ch] += cotangent[:, i, j]
    (top, _), (left, _) = pads
    grad_x = grad_x[:, top:top + x.shape[1], left:left + x.shape[2]]
    return _from_last(out, data_format), _from_last(grad_x, data_format)
