"""Case tables of the transposed, depthwise, separable and adaptive layers (`cases.py` has the rest).

Each grid covers its axes 3-wise in float32 and pairwise in each 16-bit
policy, as the convolution grids do (`cases.cover`).
"""

from keras_cnn_ref.conformance.cases import FLOAT32_STRENGTH, HALF_STRENGTH, _named, cover

FORMATS = ("channels_last", "channels_first")
SPATIAL = {1: (7,), 2: (5, 6), 3: (3, 4, 3)}


# 16-bit as mixed precision: float32 inputs and weights, cast by Keras. With a plain 16-bit policy
# Keras's own depthwise and separable layers refuse float32 inputs.
HALF_POLICIES = ("mixed_bfloat16", "mixed_float16")


def _grid(key: str, axes: dict, case) -> list[dict]:
    """`case(geometry, dtype)` over a 3-wise cover of `axes` in float32, and a pairwise one in mixed 16-bit."""
    return _named(
        key,
        [case(geometry, "float32") for geometry in cover(axes, FLOAT32_STRENGTH)]
        + [case(geometry, dtype) for dtype in HALF_POLICIES for geometry in cover(axes, HALF_STRENGTH)],
    )


def _shape(rank: int, channels: int, data_format: str) -> tuple:
    return (2, *SPATIAL[rank], channels) if data_format == "channels_last" else (2, channels, *SPATIAL[rank])


def _strided_config(rank: int, geometry: dict, dtype: str) -> tuple[dict, str]:
    (stride, dilation), padding, data_format = (
        geometry["strides_and_dilation"],
        geometry["padding"],
        geometry["data_format"],
    )
    config = {
        "strides": (stride,) * rank,
        "dilation_rate": (dilation,) * rank,
        "padding": padding,
        "data_format": data_format,
        "dtype": dtype,
    }
    return config, f"{padding}-s{stride}-d{dilation}-{data_format[9:]}"


def _transpose_grid(rank: int) -> list[dict]:
    def case(geometry, dtype):
        config, case_id = _strided_config(rank, geometry, dtype)
        stride = config["strides"][0]
        output_padding = None if geometry["output_padding"] == "none" else (stride - 1,) * rank
        kernel = geometry["kernel_size"]
        config.update(filters=3, kernel_size=kernel, output_padding=output_padding, kernel_initializer="zeros")
        return {
            "id": f"{case_id}-op{geometry['output_padding']}-k{'x'.join(map(str, kernel))}-{dtype}",
            "config": config,
            "input_shape": _shape(rank, 2, geometry["data_format"]),
            "input": "normal",
        }

    return _grid(
        f"conv{rank}dtranspose",
        {
            "padding": ("valid", "same"),
            "strides_and_dilation": ((1, 1), (2, 1), (3, 1), (1, 2)) if rank == 2 else ((1, 1), (2, 1), (1, 2)),
            "output_padding": ("none", "stride-1"),
            "data_format": FORMATS,
            "kernel_size": {1: ((3,),), 2: ((3, 3), (2, 4)), 3: ((2, 3, 2),)}[rank],
        },
        case,
    )


def _depthwise_grid(rank: int, separable: bool) -> list[dict]:
    def case(geometry, dtype):
        config, case_id = _strided_config(rank, geometry, dtype)
        kernel, multiplier = geometry["kernel_size"], geometry["depth_multiplier"]
        config.update(kernel_size=kernel, depth_multiplier=multiplier)
        config.update(
            {"filters": 4, "depthwise_initializer": "zeros", "pointwise_initializer": "zeros"}
            if separable
            else {"depthwise_initializer": "zeros"}
        )
        return {
            "id": f"{case_id}-m{multiplier}-k{'x'.join(map(str, kernel))}-{dtype}",
            "config": config,
            "input_shape": _shape(rank, 3, geometry["data_format"]),
            "input": "normal",
        }

    return _grid(
        f"{'separable' if separable else 'depthwise'}conv{rank}d",
        {
            "padding": ("valid", "same"),
            "strides_and_dilation": ((1, 1), (2, 1), (1, 2)),
            "depth_multiplier": (1, 2),
            "data_format": FORMATS,
            "kernel_size": {1: ((3,),), 2: ((3, 3), (2, 3))}[rank],
        },
        case,
    )


# Windows per axis, on SPATIAL's inputs: equal ones, overlapping ones, and more windows than positions.
# fmt: off
ADAPTIVE_SIZES = {"divides": {1: (1,), 2: (5, 3), 3: (3, 2, 1)}, "overlaps": {1: (3,), 2: (3, 4), 3: (2, 3, 2)},
                  "more-than-input": {1: (9,), 2: (7, 8), 3: (4, 5, 4)}}
# fmt: on


def _adaptive_grid(rank: int, mode: str) -> list[dict]:
    def case(geometry, dtype):
        windows, data_format = geometry["windows"], geometry["data_format"]
        return {
            "id": f"{windows}-{data_format[9:]}-{dtype}",
            "config": {"output_size": ADAPTIVE_SIZES[windows][rank], "data_format": data_format, "dtype": dtype},
            "input_shape": _shape(rank, 3, data_format),
            "input": "ties" if mode == "max" else "normal",
        }

    return _grid(f"adaptive{mode}pool{rank}d", {"windows": tuple(ADAPTIVE_SIZES), "data_format": FORMATS}, case)


# fmt: off
FAMILY_CASES = ([case for rank in (1, 2, 3) for case in _transpose_grid(rank)]
                + [case for rank in (1, 2) for separable in (False, True) for case in _depthwise_grid(rank, separable)]
                + [case for rank in (1, 2, 3) for mode in ("max", "avg") for case in _adaptive_grid(rank, mode)])
# fmt: on


# Semantics of the family that implementations commonly get wrong, each on an input made to show it.
# fmt: off
FAMILY_EDGE_CASES = [
    {"id": "conv2dtranspose-output-padding-goes-after", "layer": "conv2dtranspose", "input_shape": (1, 3, 3, 1),
     "input": "impulse", "config": {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (1, 0)}},
    {"id": "conv2dtranspose-same-crops-the-larger-half-before", "layer": "conv2dtranspose",
     "input_shape": (1, 3, 4, 1), "input": "impulse",
     "config": {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}},  # span 7, 9: crop 2 before, 1 after
    {"id": "conv2dtranspose-spreads-the-kernel-unflipped", "layer": "conv2dtranspose", "input_shape": (1, 3, 3, 1),
     "input": "impulse", "config": {"filters": 2, "kernel_size": 3}},
    {"id": "conv1dtranspose-dilated-taps-spread-apart", "layer": "conv1dtranspose", "input_shape": (1, 5, 1),
     "input": "impulse", "config": {"filters": 1, "kernel_size": 3, "dilation_rate": 2}},
    {"id": "depthwiseconv2d-output-channel-is-channel-times-multiplier-plus-filter", "layer": "depthwiseconv2d",
     "input_shape": (1, 5, 5, 3), "input": "normal", "config": {"kernel_size": 3, "depth_multiplier": 2}},
    {"id": "separableconv1d-bias-after-the-pointwise-step", "layer": "separableconv1d", "input_shape": (2, 7, 3),
     "input": "normal", "config": {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}},
    {"id": "adaptiveavgpool1d-windows-round-outward-and-overlap", "layer": "adaptiveavgpool1d",
     "input_shape": (2, 5, 2), "input": "normal", "config": {"output_size": 3}},  # [0, 2) [1, 4) [3, 5)
    {"id": "adaptivemaxpool2d-tie-goes-to-first-maximum-column-then-row", "layer": "adaptivemaxpool2d",
     "input_shape": (2, 5, 7, 2), "input": "constant", "config": {"output_size": (3, 4)}},
    {"id": "adaptivemaxpool3d-nan-and-inf-propagate", "layer": "adaptivemaxpool3d", "input_shape": (1, 4, 5, 3, 2),
     "input": "nan_inf", "config": {"output_size": (3, 2, 2)}},
]
# fmt: on


# Every argument of each layer in one config, for get_config and from_config.
# fmt: off
FAMILY_CONFIGS = {
    "conv1dtranspose": {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1,
                        "activation": "relu", "kernel_regularizer": "l2", "name": "up"},
    "conv2dtranspose": {"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "output_padding": (1, 0),
                        "data_format": "channels_first", "use_bias": False, "kernel_constraint": "non_neg",
                        "dtype": "mixed_bfloat16", "name": "up"},
    "conv3dtranspose": {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "bias_initializer": "ones", "name": "up"},
    "depthwiseconv1d": {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same",
                        "depthwise_regularizer": "l1", "name": "dw"},
    "depthwiseconv2d": {"kernel_size": 3, "depth_multiplier": 3, "dilation_rate": 2, "data_format": "channels_first",
                        "activation": "relu6", "name": "dw"},
    "separableconv1d": {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same",
                        "pointwise_constraint": "max_norm", "name": "sep"},
    "separableconv2d": {"filters": 6, "kernel_size": (3, 2), "strides": 2, "use_bias": False,
                        "dtype": "mixed_float16", "name": "sep"},
    **{f"adaptive{mode}pool{rank}d": {"output_size": (4, 3, 2)[:rank] if rank > 1 else 4,
                                      "data_format": "channels_first" if rank == 2 else "channels_last", "name": "pool"}
       for mode in ("max", "avg") for rank in (1, 2, 3)},
}
# fmt: on

# fmt: off
FAMILY_SERIALIZATION_CASES = [
    *({"id": f"{layer}-config", "kind": "config", "layer": layer, "config": config}
      for layer, config in FAMILY_CONFIGS.items()),
    {"id": "family-weights-h5-from-builtin", "kind": "weights", "direction": "from_builtin", "model": "family"},
    {"id": "family-weights-h5-to-builtin", "kind": "weights", "direction": "to_builtin", "model": "family"},
]
# fmt: on

# Bad arguments and inputs of the family (`cases.ERROR_CASES` has the format).
# fmt: off
FAMILY_ERROR_CASES = [
    {"id": "conv-transpose-output-padding-not-below-strides", "mentions": "output_padding", "layer": "conv2dtranspose",
     "args": {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}},
    {"id": "conv-transpose-filters-0", "mentions": "filters=0", "layer": "conv2dtranspose",
     "args": {"filters": 0, "kernel_size": 3}},
    {"id": "conv-transpose-kernel-size-0", "mentions": "kernel_size", "layer": "conv1dtranspose",
     "args": {"filters": 2, "kernel_size": 0}},
    {"id": "conv-transpose-causal-padding", "mentions": "causal", "layer": "conv2dtranspose",
     "args": {"filters": 2, "kernel_size": 3, "padding": "causal"}},
    {"id": "conv-transpose-input-rank-3", "mentions": "ndim=3", "layer": "conv2dtranspose",
     "args": {"filters": 2, "kernel_size": 3}, "input": (8, 8, 3)},
    {"id": "conv-transpose-wrong-channel-count", "mentions": "axis -1", "layer": "conv2dtranspose",
     "args": {"filters": 2, "kernel_size": 3}, "build": (None, 8, 8, 3), "input": (2, 8, 8, 4)},
    {"id": "depthwise-multiplier-0", "mentions": "depth_multiplier", "layer": "depthwiseconv2d",
     "args": {"kernel_size": 3, "depth_multiplier": 0}},
    {"id": "depthwise-strides-0", "mentions": "strides", "layer": "depthwiseconv1d",
     "args": {"kernel_size": 3, "strides": 0}},
    {"id": "depthwise-input-rank-3", "mentions": "ndim=3", "layer": "depthwiseconv2d",
     "args": {"kernel_size": 3}, "input": (8, 8, 3)},
    {"id": "separable-filters-0", "mentions": "filters", "layer": "separableconv2d",
     "args": {"filters": 0, "kernel_size": 3}},
    {"id": "separable-unknown-data-format", "mentions": "data_format", "layer": "separableconv1d",
     "args": {"filters": 2, "kernel_size": 3, "data_format": "NWC"}},
    {"id": "adaptive-output-size-string", "mentions": "output_size", "layer": "adaptivemaxpool2d",
     "args": {"output_size": "4"}},
    {"id": "adaptive-output-size-for-another-rank", "mentions": "output_size", "layer": "adaptiveavgpool3d",
     "args": {"output_size": (2, 2)}},
    {"id": "adaptive-unknown-data-format", "mentions": "data_format", "layer": "adaptiveavgpool2d",
     "args": {"output_size": 2, "data_format": "NHWC"}},
]
# fmt: on
