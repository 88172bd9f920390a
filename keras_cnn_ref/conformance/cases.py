"""Case tables: every argument of the convolution and pooling layers, as lists of dicts with ids.

Each grid's axes are covered 3-wise in float32 and pairwise in each 16-bit dtype (`cover`).

Each case gives the layer's constructor arguments (`config`), the input shape
(batch first, in the case's data format), and the input's kind: "normal"
values, or "ties" (small integers, so most pooling windows hold several
equal maxima and the gradient's tie rule is exercised).
"""

import itertools

from keras_cnn_ref._registry import LAYERS  # the case tables' layer keys, with each layer's rank and kind

DTYPES = ("float32", "bfloat16", "float16")

# Each (stride, dilation) pair Keras allows, on every spatial axis: strides > 1 excludes dilation > 1.
STRIDES_AND_DILATIONS = ((1, 1), (2, 1), (3, 1), (1, 2))


def _conv_axes(rank: int) -> dict:
    """The arguments the conv grid of one rank varies, and their values."""
    return {
        "padding": ("valid", "same", "causal") if rank == 1 else ("valid", "same"),
        "strides_and_dilation": STRIDES_AND_DILATIONS if rank == 2 else ((1, 1), (2, 1), (1, 2)),
        "groups": (1, 2, 3) if rank == 2 else (1, 2),
        "data_format": ("channels_last", "channels_first"),
        # odd and even inputs in 2-D; in 1-D and 3-D the odd and even kernels vary the pads' parity instead
        "size": (9, 8) if rank == 2 else (9,) if rank == 1 else (6,),  # then (size, size + 2, size + 1)[:rank]
        "kernel_size": {1: ((3,), (2,)), 2: ((3, 3), (2, 4)), 3: ((3, 3, 3), (2, 3, 2))}[rank],  # odd and even
    }


# The grids' covers: every 3 values of different axes together in float32, every 2 in each 16-bit dtype.
# Each case is a fresh XLA compile on both sides, so the full products (1,338 cases) took most of the
# suite's half hour; 3 values together still meet every interaction of stride, dilation and padding.
FLOAT32_STRENGTH, HALF_STRENGTH = 3, 2


def cover(axes: dict, strength: int) -> list[dict]:
    """Rows of the product of `axes` in which every `strength` values of different axes occur together.

    Chosen greedily and deterministically, in the product's order; the whole
    product when `strength` is at least the number of axes.

    >>> len(cover({"a": (1, 2), "b": (1, 2), "c": (1, 2)}, 2)), len(cover({"a": (1, 2), "b": (1, 2)}, 2))
    (4, 4)
    """
    rows = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]

    def tuples(row: dict) -> set:
        return {tuple((axis, row[axis]) for axis in chosen) for chosen in itertools.combinations(axes, strength)}

    uncovered, chosen = set().union(*map(tuples, rows)), []
    while uncovered:
        best = max(rows, key=lambda row: len(tuples(row) & uncovered))
        chosen.append(best)
        uncovered -= tuples(best)
    return chosen


def _conv_case(rank: int, geometry: dict, dtype: str) -> dict:
    (stride, dilation), groups, size = geometry["strides_and_dilation"], geometry["groups"], geometry["size"]
    data_format, kernel, padding = geometry["data_format"], geometry["kernel_size"], geometry["padding"]
    spatial, channels = (size, size + 2, size + 1)[:rank], 2 * groups
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    config = {
        "filters": 3 * groups,
        "kernel_size": kernel,
        "strides": (stride,) * rank,
        "padding": padding,
        "data_format": data_format,
        "dilation_rate": (dilation,) * rank,
        "groups": groups,
        "dtype": dtype,
        "kernel_initializer": "zeros",
    }  # the harness sets random weights; skip compiling an RNG
    case_id = (
        f"{padding}-s{stride}-d{dilation}-g{groups}-{data_format[9:]}-in{size}-k{'x'.join(map(str, kernel))}-{dtype}"
    )
    return {"id": case_id, "config": config, "input_shape": shape, "input": "normal"}


def _conv_grid(rank: int) -> list[dict]:
    """A 3-wise cover of the axes in float32, and a pairwise cover in bfloat16 and float16: the 16-bit
    handling (cast, widen to float32, round once) does not depend on the geometry."""
    axes = _conv_axes(rank)
    return [_conv_case(rank, geometry, "float32") for geometry in cover(axes, FLOAT32_STRENGTH)] + [
        _conv_case(rank, geometry, dtype) for dtype in DTYPES[1:] for geometry in cover(axes, HALF_STRENGTH)
    ]


# Arguments the grid holds fixed, each varied once.
# fmt: off
CONV2D_ARGUMENTS = [
    {"id": "no-bias", "config": {"filters": 4, "kernel_size": 3, "use_bias": False}},
    {"id": "activation-relu", "config": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
    {"id": "activation-gelu", "config": {"filters": 4, "kernel_size": 3, "activation": "gelu"}},
    {"id": "padding-upper-case", "config": {"filters": 4, "kernel_size": 2, "padding": "SAME"}},
    {"id": "mixed_float16", "config": {"filters": 4, "kernel_size": 3, "dtype": "mixed_float16"}},
    {"id": "mixed_bfloat16", "config": {"filters": 4, "kernel_size": 3, "dtype": "mixed_bfloat16"}},
    {"id": "lora", "config": {"filters": 4, "kernel_size": 3, "lora_rank": 2, "lora_alpha": 3}},
    {"id": "1x1-kernel", "config": {"filters": 5, "kernel_size": 1}},
    {"id": "depthwise-groups", "config": {"filters": 6, "kernel_size": 3, "groups": 3}, "input_shape": (2, 9, 8, 3)},
    {"id": "kernel-covers-input", "config": {"filters": 2, "kernel_size": (9, 8)}},
    {"id": "batch-1", "config": {"filters": 4, "kernel_size": 3}, "input_shape": (1, 9, 8, 3)},
    {"id": "batch-0", "config": {"filters": 4, "kernel_size": 3, "strides": 2}, "input_shape": (0, 9, 8, 3)},
]
# fmt: on


POOL_SIZES = {1: ((2,), (3,)), 2: ((2, 2), (3, 3), (2, 3)), 3: ((2, 2, 2), (3, 2, 2))}
POOL_STRIDES = {1: (None, (1,), (2,)), 2: (None, (1, 1), (2, 1)), 3: (None, (1, 1, 1), (2, 1, 2))}


def _pool_case(rank: int, geometry: dict, dtype: str, inputs: str) -> dict:
    pool_size, strides, padding = geometry["pool_size"], geometry["strides"], geometry["padding"]
    data_format, size = geometry["data_format"], geometry["size"]
    spatial = (size, size + 2, size + 1)[:rank]
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    config = {
        "pool_size": pool_size,
        "strides": strides,
        "padding": padding,
        "data_format": data_format,
        "dtype": dtype,
    }
    stride_id = "default" if strides is None else "x".join(map(str, strides))
    case_id = f"p{'x'.join(map(str, pool_size))}-s{stride_id}-{padding}-{data_format[9:]}-in{size}-{dtype}"
    return {"id": case_id, "config": config, "input_shape": shape, "input": inputs}


def _pool_grid(rank: int, inputs: str) -> list[dict]:
    """pool sizes x strides (default, overlapping, mixed) x padding x both formats x odd/even input, on
    `inputs` ("ties" for max pooling: most windows hold several equal maxima), covered as the conv grids are."""
    axes = {
        "pool_size": POOL_SIZES[rank],
        "strides": POOL_STRIDES[rank],
        "padding": ("valid", "same"),
        "data_format": ("channels_last", "channels_first"),
        "size": (9, 8) if rank == 2 else (9,) if rank == 1 else (6,),
    }
    return [_pool_case(rank, geometry, "float32", inputs) for geometry in cover(axes, FLOAT32_STRENGTH)] + [
        _pool_case(rank, geometry, dtype, inputs) for dtype in DTYPES[1:] for geometry in cover(axes, HALF_STRENGTH)
    ]


# fmt: off
MAXPOOL2D_ARGUMENTS = [
    {"id": "default-pool", "config": {}},
    {"id": "int-arguments", "config": {"pool_size": 3, "strides": 2, "padding": "same"}},
    {"id": "padding-upper-case", "config": {"pool_size": 2, "padding": "SAME"}},
    {"id": "all-negative-same", "config": {"pool_size": 3, "strides": 2, "padding": "same"}, "input": "negative"},
    {"id": "mixed_bfloat16", "config": {"pool_size": 2, "dtype": "mixed_bfloat16"}},
    {"id": "batch-0", "config": {"pool_size": 2}, "input_shape": (0, 9, 8, 3)},
    {"id": "window-1-on-a-strided-axis", "config": {"pool_size": (1, 2), "strides": (2, 2)}},
]
# fmt: on

DEFAULT_INPUT_SHAPE = (2, 9, 8, 3)

# fmt: off
AVGPOOL_ARGUMENTS = [
    {"id": "int-arguments", "config": {"pool_size": 3, "strides": 2, "padding": "same"}},
    {"id": "padding-upper-case", "config": {"pool_size": 2, "padding": "SAME"}},
    {"id": "mixed_bfloat16", "config": {"pool_size": 2, "dtype": "mixed_bfloat16"}},
    {"id": "window-1-on-a-strided-axis", "config": {"pool_size": (1, 2), "strides": (2, 2), "padding": "same"}},
]
# fmt: on
# fmt: off
CONV1D_ARGUMENTS = [
    {"id": "causal-upper-case", "config": {"filters": 4, "kernel_size": 3, "padding": "CAUSAL"},
     "input_shape": (2, 9, 3)},
    {"id": "no-bias-gelu", "config": {"filters": 4, "kernel_size": 3, "use_bias": False, "activation": "gelu"},
     "input_shape": (2, 9, 3)},
    {"id": "lora", "config": {"filters": 4, "kernel_size": 3, "lora_rank": 2}, "input_shape": (2, 9, 3)},
    {"id": "batch-0", "config": {"filters": 4, "kernel_size": 3}, "input_shape": (0, 9, 3)},
]
# fmt: on
# fmt: off
CONV3D_ARGUMENTS = [
    {"id": "no-bias-relu", "config": {"filters": 4, "kernel_size": 2, "use_bias": False, "activation": "relu"},
     "input_shape": (2, 5, 6, 4, 3)},
    {"id": "mixed_bfloat16", "config": {"filters": 4, "kernel_size": 2, "dtype": "mixed_bfloat16"},
     "input_shape": (2, 5, 6, 4, 3)},
    {"id": "depthwise-groups", "config": {"filters": 6, "kernel_size": 2, "groups": 3}, "input_shape": (1, 4, 5, 4, 3)},
]
# fmt: on
INPUT_SHAPES = {1: (2, 9, 3), 2: DEFAULT_INPUT_SHAPE, 3: (2, 5, 6, 4, 3)}


def _named(layer: str, cases: list[dict]) -> list[dict]:
    """Cases for `layer`, with its name in their ids (and its rank's default input shape)."""
    shape = INPUT_SHAPES[LAYERS[layer].rank]
    return [{"input_shape": shape, **case, "layer": layer, "id": f"{layer}-{case['id']}"} for case in cases]


CONV2D_CASES = _named("conv2d", _conv_grid(2) + CONV2D_ARGUMENTS)
MAXPOOL2D_CASES = _named("maxpool2d", _pool_grid(2, "ties") + MAXPOOL2D_ARGUMENTS)
# fmt: off
ND_CASES = (_named("conv1d", _conv_grid(1) + CONV1D_ARGUMENTS) + _named("conv3d", _conv_grid(3) + CONV3D_ARGUMENTS)
            + _named("maxpool1d", _pool_grid(1, "ties")) + _named("maxpool3d", _pool_grid(3, "ties"))
            + [case for rank in (1, 2, 3) for case in _named(f"avgpool{rank}d", _pool_grid(rank, "normal"))]
            + _named("avgpool2d", AVGPOOL_ARGUMENTS))
# fmt: on

# Semantics that implementations commonly get wrong, each on an input made to show it.
# fmt: off
EDGE_CASES = [
    {"id": "conv-same-odd-pad-even-kernel", "layer": "conv2d", "input_shape": (2, 6, 7, 2), "input": "normal",
     "config": {"filters": 3, "kernel_size": (2, 4), "padding": "same"}},  # totals 1 and 3: the odd pad goes after
    {"id": "conv-same-odd-pad-stride-2", "layer": "conv2d", "input_shape": (2, 8, 10, 2), "input": "normal",
     "config": {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}},  # totals 1 and 1
    {"id": "conv-cross-correlation-not-flipped", "layer": "conv2d", "input_shape": (1, 5, 5, 1), "input": "impulse",
     "config": {"filters": 2, "kernel_size": 3, "padding": "same"}},
    {"id": "conv-bias-is-added", "layer": "conv2d", "input_shape": (2, 5, 5, 2), "input": "normal",
     "config": {"filters": 3, "kernel_size": 3, "padding": "same"}},
    {"id": "conv-channels-first-layout", "layer": "conv2d", "input_shape": (2, 3, 6, 8), "input": "normal",
     "config": {"filters": 5, "kernel_size": (3, 2), "strides": (1, 2), "data_format": "channels_first"}},
    {"id": "conv-nan-and-inf-propagate", "layer": "conv2d", "input_shape": (1, 6, 6, 2), "input": "nan_inf",
     "config": {"filters": 2, "kernel_size": 3, "padding": "same"}},
    {"id": "maxpool-pads-with-minus-inf", "layer": "maxpool2d", "input_shape": (2, 5, 7, 2), "input": "negative",
     "config": {"pool_size": 3, "strides": 2, "padding": "same"}},  # all-negative values at every border
    {"id": "maxpool-tie-goes-to-first-maximum", "layer": "maxpool2d", "input_shape": (2, 6, 6, 2), "input": "constant",
     "config": {"pool_size": 2}},
    {"id": "maxpool-overlapping-windows-ties", "layer": "maxpool2d", "input_shape": (2, 7, 7, 2), "input": "ties",
     "config": {"pool_size": 3, "strides": 1}},
    {"id": "maxpool-minus-inf-everywhere", "layer": "maxpool2d", "input_shape": (1, 4, 5, 1), "input": "minus_inf",
     "config": {"pool_size": 3, "strides": 1, "padding": "same"}},
    {"id": "maxpool-nan-and-inf-propagate", "layer": "maxpool2d", "input_shape": (1, 6, 6, 2), "input": "nan_inf",
     "config": {"pool_size": 2, "strides": 1, "padding": "same"}},
    {"id": "maxpool-channels-first-layout", "layer": "maxpool2d", "input_shape": (2, 3, 7, 6), "input": "ties",
     "config": {"pool_size": (3, 2), "strides": (2, 1), "padding": "same", "data_format": "channels_first"}},
    {"id": "conv1d-causal-pads-before-only", "layer": "conv1d", "input_shape": (2, 9, 2), "input": "impulse",
     "config": {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}},
    {"id": "conv3d-cross-correlation-on-every-axis", "layer": "conv3d", "input_shape": (1, 5, 5, 5, 1),
     "input": "impulse", "config": {"filters": 2, "kernel_size": 3, "padding": "same"}},
    {"id": "avgpool-same-excludes-pads-from-divisor", "layer": "avgpool2d", "input_shape": (2, 6, 7, 2),
     "input": "constant", "config": {"pool_size": 3, "strides": 2, "padding": "same"}},  # 0.5 everywhere, borders too
    {"id": "avgpool-channels-first-layout", "layer": "avgpool3d", "input_shape": (2, 3, 4, 6, 5), "input": "normal",
     "config": {"pool_size": (2, 1, 2), "padding": "same", "data_format": "channels_first"}},
    {"id": "maxpool1d-tie-goes-to-first-maximum", "layer": "maxpool1d", "input_shape": (2, 8, 2), "input": "constant",
     "config": {"pool_size": 2}},
    {"id": "maxpool3d-pads-with-minus-inf", "layer": "maxpool3d", "input_shape": (1, 5, 4, 5, 2), "input": "negative",
     "config": {"pool_size": 3, "strides": 2, "padding": "same"}},
]
# fmt: on

# fmt: off
FULL_CONV2D_CONFIG = {
    "filters": 6, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "data_format": "channels_first",
    "groups": 2, "activation": "relu", "use_bias": True, "kernel_initializer": "he_normal",
    "bias_initializer": "ones", "kernel_regularizer": "l2", "bias_regularizer": "l1",
    "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
    "kernel_constraint": "non_neg", "bias_constraint": "max_norm", "dtype": "mixed_bfloat16", "name": "conv",
}
# fmt: on
# fmt: off
FULL_MAXPOOL2D_CONFIG = {"pool_size": (3, 2), "strides": (2, 1), "padding": "same",
                         "data_format": "channels_first", "name": "pool"}
# fmt: on

# fmt: off
ND_CONFIGS = {
    "conv1d": {"filters": 4, "kernel_size": 5, "strides": 2, "padding": "causal", "groups": 2, "activation": "tanh",
               "kernel_regularizer": "l2", "name": "conv"},
    "conv3d": {"filters": 6, "kernel_size": (3, 2, 2), "padding": "same", "data_format": "channels_first",
               "dilation_rate": 2, "groups": 3, "dtype": "mixed_bfloat16", "name": "conv"},
    "maxpool1d": {"pool_size": 3, "strides": 2, "padding": "same", "name": "pool"},
    "maxpool3d": {"pool_size": (3, 2, 2), "data_format": "channels_first", "name": "pool"},
    "avgpool1d": {"pool_size": 2, "padding": "same", "data_format": "channels_first", "name": "pool"},
    "avgpool2d": {"pool_size": (3, 2), "strides": (2, 1), "padding": "same", "name": "pool"},
    "avgpool3d": {"pool_size": 2, "strides": (1, 2, 2), "name": "pool"},
}
# fmt: on

# fmt: off
SERIALIZATION_CASES = [
    {"id": "conv2d-config", "kind": "config", "layer": "conv2d", "config": FULL_CONV2D_CONFIG},
    {"id": "conv2d-lora-config", "kind": "config", "layer": "conv2d",
     "config": {"filters": 4, "kernel_size": 3, "lora_rank": 2, "name": "conv"}},
    {"id": "maxpool2d-config", "kind": "config", "layer": "maxpool2d", "config": FULL_MAXPOOL2D_CONFIG},
    {"id": "weights-h5-from-builtin", "kind": "weights", "direction": "from_builtin"},
    {"id": "weights-h5-to-builtin", "kind": "weights", "direction": "to_builtin"},
    {"id": "keras-file-in-fresh-process", "kind": "keras_file"},
    *({"id": f"{layer}-config", "kind": "config", "layer": layer, "config": config} for layer, config in ND_CONFIGS.items()),
]
# fmt: on

# Bad arguments and inputs. "input": a shape to call on eagerly, or "symbolic"
# for keras.Input((8, 8, 3)); "build": a shape to build with first.
# "expect": "builtin" (the same exception type as built-in Keras) or
# "ValueError" (where built-in accepts something meaningless; "builtin_does"
# records what it does instead, or {first Keras version: what it does} where
# that changed). "mentions": what the message must name.
# fmt: off
ERROR_CASES = [
    {"id": "conv-filters-0", "mentions": 'filters=0', "layer": "conv2d", "args": {"filters": 0, "kernel_size": 3}},
    {"id": "conv-filters-negative", "mentions": 'filters', "layer": "conv2d", "args": {"filters": -2, "kernel_size": 3}},
    {"id": "conv-kernel-size-0", "mentions": 'kernel_size', "layer": "conv2d", "args": {"filters": 2, "kernel_size": (0, 3)}},
    {"id": "conv-strides-0", "mentions": 'strides', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3, "strides": 0}},
    {"id": "conv-groups-0", "mentions": 'groups=0', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3, "groups": 0}},
    {"id": "conv-groups-not-dividing-filters", "mentions": 'groups=2', "layer": "conv2d", "args": {"filters": 3, "kernel_size": 3, "groups": 2}},
    {"id": "conv-groups-not-dividing-channels", "mentions": 'groups=2', "layer": "conv2d", "args": {"filters": 4, "kernel_size": 3, "groups": 2},
     "input": (2, 8, 8, 3)},
    {"id": "conv-strides-with-dilation", "mentions": 'dilation_rate', "layer": "conv2d",
     "args": {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}},
    {"id": "conv-unknown-padding", "mentions": 'full', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3, "padding": "full"}},
    {"id": "conv-causal-padding-in-2d", "mentions": 'causal', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3, "padding": "causal"}},
    {"id": "conv-unknown-data-format", "mentions": 'data_format', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3, "data_format": "NHWC"}},
    {"id": "conv-input-rank-3", "mentions": 'ndim=3', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3}, "input": (8, 8, 3)},
    {"id": "conv-input-rank-5", "mentions": '(1, 2, 8, 8, 3)', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3}, "input": (1, 2, 8, 8, 3)},
    {"id": "conv-wrong-channel-count", "mentions": 'axis -1', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 3},
     "build": (None, 8, 8, 3), "input": (2, 8, 8, 4)},
    {"id": "conv-zero-size-output", "mentions": 'zero or negative', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 9},
     "input": (2, 8, 8, 3), "expect": "ValueError", "builtin_does": {"3.12": "accepts", "3.13": "ValueError"}},
    {"id": "conv-zero-size-output-symbolic", "mentions": 'zero or negative', "layer": "conv2d", "args": {"filters": 2, "kernel_size": 9},
     "input": "symbolic", "expect": "ValueError", "builtin_does": {"3.12": "accepts", "3.14": "ValueError"}},
    {"id": "pool-size-0", "mentions": 'pool_size', "layer": "maxpool2d", "args": {"pool_size": 0}},
    {"id": "pool-size-negative", "mentions": 'pool_size', "layer": "maxpool2d", "args": {"pool_size": (2, -1)}},
    {"id": "pool-strides-negative", "mentions": 'strides', "layer": "maxpool2d", "args": {"pool_size": 2, "strides": -1}},
    {"id": "pool-unknown-data-format", "mentions": 'data_format', "layer": "maxpool2d", "args": {"data_format": "NCHW"}},
    {"id": "pool-input-rank-3", "mentions": 'ndim=3', "layer": "maxpool2d", "args": {}, "input": (8, 8, 3)},
    {"id": "pool-larger-than-valid-input-symbolic", "mentions": 'pool_size', "layer": "maxpool2d", "args": {"pool_size": 9},
     "input": "symbolic", "expect": "ValueError", "builtin_does": {"3.12": "accepts", "3.15": "ValueError"}},
    {"id": "pool-strides-0", "mentions": 'strides', "layer": "maxpool2d", "args": {"pool_size": 2, "strides": 0}, "input": (2, 8, 8, 3),
     "expect": "ValueError", "builtin_does": "TypeError"},  # from XLA, when called
    {"id": "pool-unknown-padding", "mentions": "padding='full'", "layer": "maxpool2d", "args": {"padding": "full"},
     "expect": "ValueError", "builtin_does": "accepts"},  # until called
    {"id": "pool-larger-than-valid-input", "mentions": 'zero or negative', "layer": "maxpool2d", "args": {"pool_size": 9}, "input": (2, 8, 8, 3),
     "expect": "ValueError", "builtin_does": "accepts"},  # returns an empty output
    {"id": "conv3d-causal-padding", "mentions": 'causal', "layer": "conv3d", "args": {"filters": 2, "kernel_size": 3, "padding": "causal"}},
    {"id": "conv1d-input-rank-4", "mentions": '(2, 8, 8, 3)', "layer": "conv1d", "args": {"filters": 2, "kernel_size": 3}, "input": (2, 8, 8, 3)},
    {"id": "conv3d-kernel-size-pair", "mentions": 'kernel_size', "layer": "conv3d", "args": {"filters": 2, "kernel_size": (3, 3)}},
    {"id": "avgpool-size-0", "mentions": 'pool_size', "layer": "avgpool2d", "args": {"pool_size": 0}},
    {"id": "avgpool-input-rank-3", "mentions": 'ndim=3', "layer": "avgpool2d", "args": {"pool_size": 2}, "input": (8, 8, 3)},
    {"id": "avgpool-strides-0", "mentions": 'strides', "layer": "avgpool1d", "args": {"pool_size": 2, "strides": 0}, "input": (2, 8, 3),
     "expect": "ValueError", "builtin_does": "TypeError"},
    {"id": "avgpool-unknown-padding", "mentions": "padding='full'", "layer": "avgpool3d", "args": {"pool_size": 2, "padding": "full"},
     "expect": "ValueError", "builtin_does": "accepts"},
    {"id": "avgpool-larger-than-valid-input", "mentions": 'zero or negative', "layer": "avgpool1d", "args": {"pool_size": 9},
     "input": (2, 8, 3), "expect": "ValueError", "builtin_does": "accepts"},
    {"id": "maxpool3d-strides-0", "mentions": 'strides', "layer": "maxpool3d", "args": {"pool_size": 2, "strides": 0},
     "input": (1, 4, 4, 4, 2), "expect": "ValueError", "builtin_does": "TypeError"},
]
# fmt: on
