"""The benchmark's per-layer cases: the documented model's shapes, common vision shapes, then 1-D and 3-D.

Each case is one layer, ours and built-in Keras's, with the same arguments
and input shape `(batch, *spatial, channels)` for channels_last, or
`(batch, channels, *spatial)` for channels_first. `quick` cases run in
`--quick` mode, where vision batches shrink to `QUICK_VISION_BATCH`.
"""

from __future__ import annotations

import fnmatch
import math

import jax.numpy as jnp

from keras_cnn_ref._registry import CONVOLUTIONS, LAYERS
from keras_cnn_ref.kernels import CPU, Algorithm, Policy, choose, get_policy
from keras_cnn_ref.kernels.algorithms.minimal_filtering import Winograd
from keras_cnn_ref.kernels.geometry import ConvGeometry, ntuple

MNIST_BATCH = 128
VISION_BATCH = 32
QUICK_VISION_BATCH = 4

# fmt: off
LAYER_CASES = [
    # The documented MNIST model, at its training batch size.
    {"id": "mnist-conv1", "layer": "conv2d", "shape": (MNIST_BATCH, 28, 28, 1), "quick": True,
     "args": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
    {"id": "mnist-pool1", "layer": "maxpool2d", "shape": (MNIST_BATCH, 26, 26, 4), "quick": True,
     "args": {"pool_size": 2}},
    {"id": "mnist-conv2", "layer": "conv2d", "shape": (MNIST_BATCH, 13, 13, 4), "quick": True,
     "args": {"filters": 8, "kernel_size": 3, "activation": "relu"}},
    {"id": "mnist-pool2", "layer": "maxpool2d", "shape": (MNIST_BATCH, 11, 11, 8), "quick": True,
     "args": {"pool_size": 2}},
    {"id": "mnist-conv3", "layer": "conv2d", "shape": (MNIST_BATCH, 5, 5, 8), "quick": True,
     "args": {"filters": 16, "kernel_size": 3, "activation": "relu"}},
    # Common vision shapes (ResNet/VGG-like).
    {"id": "3x3-56x56x64", "layer": "conv2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": True,
     "args": {"filters": 64, "kernel_size": 3, "padding": "same"}},
    {"id": "3x3-28x28x128", "layer": "conv2d", "shape": (VISION_BATCH, 28, 28, 128), "quick": False,
     "args": {"filters": 128, "kernel_size": 3, "padding": "same"}},
    {"id": "1x1-56x56x64-256", "layer": "conv2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": False,
     "args": {"filters": 256, "kernel_size": 1}},
    {"id": "5x5s2-56x56x32", "layer": "conv2d", "shape": (VISION_BATCH, 56, 56, 32), "quick": False,
     "args": {"filters": 64, "kernel_size": 5, "strides": 2, "padding": "same"}},
    {"id": "7x7s2-112x112x3", "layer": "conv2d", "shape": (VISION_BATCH, 112, 112, 3), "quick": True,
     "args": {"filters": 64, "kernel_size": 7, "strides": 2, "padding": "same"}},
    {"id": "3x3-cf-28x28x64", "layer": "conv2d", "shape": (VISION_BATCH, 64, 28, 28), "quick": False,
     "args": {"filters": 64, "kernel_size": 3, "padding": "same", "data_format": "channels_first"}},
    {"id": "pool2x2-56x56x64", "layer": "maxpool2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": True,
     "args": {"pool_size": 2}},
    {"id": "pool3x3s2same-56x56x64", "layer": "maxpool2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": False,
     "args": {"pool_size": 3, "strides": 2, "padding": "same"}},
    {"id": "avgpool2x2-56x56x64", "layer": "avgpool2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": True,
     "args": {"pool_size": 2}},
    {"id": "avgpool3x3s2same-56x56x64", "layer": "avgpool2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": False,
     "args": {"pool_size": 3, "strides": 2, "padding": "same"}},
    # Few filters: the heads of generators and segmentation nets, 1 to 16 outputs.
    {"id": "head7x7-28x28x128-1", "layer": "conv2d", "shape": (VISION_BATCH, 28, 28, 128), "quick": True,
     "args": {"filters": 1, "kernel_size": 7, "padding": "same"}},
    {"id": "head7x7-28x28x128-4", "layer": "conv2d", "shape": (VISION_BATCH, 28, 28, 128), "quick": False,
     "args": {"filters": 4, "kernel_size": 7, "padding": "same"}},
    {"id": "head5x5-28x28x128-1", "layer": "conv2d", "shape": (VISION_BATCH, 28, 28, 128), "quick": False,
     "args": {"filters": 1, "kernel_size": 5, "padding": "same"}},
    {"id": "head3x3-28x28x128-1", "layer": "conv2d", "shape": (VISION_BATCH, 28, 28, 128), "quick": False,
     "args": {"filters": 1, "kernel_size": 3, "padding": "same"}},
    {"id": "head3x3-56x56x64-16", "layer": "conv2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": False,
     "args": {"filters": 16, "kernel_size": 3, "padding": "same"}},
    # Sequences (1-D) and volumes (3-D).
    {"id": "1d-k3-1024x64", "layer": "conv1d", "shape": (VISION_BATCH, 1024, 64), "quick": True,
     "args": {"filters": 64, "kernel_size": 3, "padding": "same"}},
    {"id": "1d-causal-k5d2-1024x32", "layer": "conv1d", "shape": (VISION_BATCH, 1024, 32), "quick": False,
     "args": {"filters": 32, "kernel_size": 5, "dilation_rate": 2, "padding": "causal"}},
    {"id": "1d-maxpool3s2-1024x64", "layer": "maxpool1d", "shape": (VISION_BATCH, 1024, 64), "quick": False,
     "args": {"pool_size": 3, "strides": 2, "padding": "same"}},
    {"id": "1d-avgpool2-1024x64", "layer": "avgpool1d", "shape": (VISION_BATCH, 1024, 64), "quick": False,
     "args": {"pool_size": 2}},
    {"id": "3d-3x3x3-16x28x28x16", "layer": "conv3d", "shape": (8, 16, 28, 28, 16), "quick": True,
     "args": {"filters": 32, "kernel_size": 3, "padding": "same"}},
    {"id": "3d-maxpool2-16x28x28x32", "layer": "maxpool3d", "shape": (8, 16, 28, 28, 32), "quick": False,
     "args": {"pool_size": 2}},
    {"id": "3d-avgpool2same-16x28x28x32", "layer": "avgpool3d", "shape": (8, 16, 28, 28, 32), "quick": False,
     "args": {"pool_size": 2, "strides": (1, 2, 2), "padding": "same"}},
    # The family: decoders (transposed), mobile blocks (depthwise, separable), adaptive heads.
    {"id": "convT3x3s2-28x28x64", "layer": "conv2dtranspose", "shape": (VISION_BATCH, 28, 28, 64), "quick": True,
     "args": {"filters": 32, "kernel_size": 3, "strides": 2, "padding": "same"}},
    {"id": "convT4x4s2-14x14x128", "layer": "conv2dtranspose", "shape": (VISION_BATCH, 14, 14, 128), "quick": False,
     "args": {"filters": 64, "kernel_size": 4, "strides": 2, "padding": "same"}},
    {"id": "1d-convT-k4s2-256x32", "layer": "conv1dtranspose", "shape": (VISION_BATCH, 256, 32), "quick": False,
     "args": {"filters": 32, "kernel_size": 4, "strides": 2, "padding": "same"}},
    {"id": "dw3x3-56x56x64", "layer": "depthwiseconv2d", "shape": (VISION_BATCH, 56, 56, 64), "quick": True,
     "args": {"kernel_size": 3, "padding": "same"}},
    {"id": "dw7x7-28x28x96", "layer": "depthwiseconv2d", "shape": (VISION_BATCH, 28, 28, 96), "quick": False,
     "args": {"kernel_size": 7, "padding": "same"}},
    {"id": "sep3x3-28x28x64-128", "layer": "separableconv2d", "shape": (VISION_BATCH, 28, 28, 64), "quick": False,
     "args": {"filters": 128, "kernel_size": 3, "padding": "same"}},
    {"id": "1d-dw-k5-1024x64", "layer": "depthwiseconv1d", "shape": (VISION_BATCH, 1024, 64), "quick": False,
     "args": {"kernel_size": 5, "padding": "same"}},
    {"id": "adaptiveavg-56x56x64-to-7", "layer": "adaptiveavgpool2d", "shape": (VISION_BATCH, 56, 56, 64),
     "quick": True, "args": {"output_size": 7}},
    {"id": "adaptivemax-50x50x64-to-7", "layer": "adaptivemaxpool2d", "shape": (VISION_BATCH, 50, 50, 64),
     "quick": False, "args": {"output_size": 7}},
]
# fmt: on

DTYPES = ("float32", "bfloat16")


def selected_cases(quick: bool) -> list[dict]:
    """Every case in each dtype, or in `--quick` mode the quick ones in float32 at small batch."""
    if not quick:
        return [{**case, "dtype": dtype} for dtype in DTYPES for case in LAYER_CASES]
    return [{**case, "dtype": "float32", "shape": _quick_shape(case)} for case in LAYER_CASES if case["quick"]]


def case_matches(case_id: str, select: str) -> bool:
    """Whether one of `select`'s comma-separated globs matches the case id whole.

    >>> [case_matches("1d-k3-1024x64", s) for s in ("1d-*", "1d", "head*,1d-k3-*")]
    [True, False, True]
    """
    return any(fnmatch.fnmatchcase(case_id, pattern) for pattern in select.split(",") if pattern)


def _quick_shape(case: dict) -> tuple[int, ...]:
    batch = case["shape"][0] if case["id"].startswith("mnist") else QUICK_VISION_BATCH
    return (batch, *case["shape"][1:])


def conv_flops(case: dict, out_shape: tuple[int, ...]) -> int:
    """Multiply-adds times two of a convolution case's forward pass, as a direct convolution does them; 0 for pooling."""
    kind = LAYERS[case["layer"]].kind
    if kind not in CONVOLUTIONS:
        return 0
    args, rank = case["args"], len(case["shape"]) - 2
    channels_first = args.get("data_format") == "channels_first"
    in_channels = case["shape"][1] if channels_first else case["shape"][-1]
    in_spatial = case["shape"][2:] if channels_first else case["shape"][1:-1]
    out_spatial = out_shape[2:] if channels_first else out_shape[1:-1]
    taps = math.prod(ntuple(args["kernel_size"], rank, "kernel_size"))
    batch, multiplier = out_shape[0], args.get("depth_multiplier", 1)
    if kind == "conv_transpose":  # every input position meets every tap
        return 2 * batch * math.prod(in_spatial) * taps * in_channels * args["filters"]
    depthwise = 2 * batch * math.prod(out_spatial) * taps * in_channels * multiplier
    if kind == "depthwise":
        return depthwise
    if kind == "separable":
        return depthwise + 2 * batch * math.prod(out_spatial) * in_channels * multiplier * args["filters"]
    return 2 * batch * math.prod(out_spatial) * taps * in_channels // args.get("groups", 1) * args["filters"]


def executed_share(case: dict, out_shape: tuple[int, ...], policy: Policy | None = None) -> float:
    """The share of `conv_flops` that a CPU runs as products under `policy` (by default the current one):
    below 1 where the chooser takes minimal filtering.

    >>> case = {"layer": "conv2d", "shape": (32, 56, 56, 64), "args": {"filters": 64, "kernel_size": 3,
    ...                                                                 "padding": "same"}}
    >>> executed_share(case, (32, 56, 56, 64), Policy.EXACT)
    1.0
    """
    args, rank = case["args"], len(case["shape"]) - 2
    window, strides, dilation = (
        ntuple(args.get(name, 1), rank, name) for name in ("kernel_size", "strides", "dilation_rate")
    )
    if LAYERS[case["layer"]].kind != "conv" or set(strides) != {1}:
        return 1.0
    channels_first = args.get("data_format") == "channels_first"
    in_channels = case["shape"][1] if channels_first else case["shape"][-1]
    out_spatial = tuple(out_shape[2:] if channels_first else out_shape[1:-1])
    padded = (out_shape[0], *(o + (k - 1) * d for o, k, d in zip(out_spatial, window, dilation)), in_channels)
    kernel_shape = (*window, in_channels // args.get("groups", 1), args["filters"])
    geometry = ConvGeometry(window, strides, dilation, args.get("groups", 1), out_spatial)
    choice = choose(padded, kernel_shape, geometry, CPU, jnp.dtype(jnp.float32), policy or get_policy())
    if choice.algorithm is not Algorithm.MINIMAL_FILTERING:
        return 1.0
    plan = Winograd(padded, kernel_shape, geometry, choice.tactics)
    products = plan.output_matrix.shape[1] * math.prod(t * d for t, d in zip(plan.tiles, dilation))
    return products / (math.prod(out_spatial) * math.prod(window))
