"""The per-layer case table."""

import pytest

from keras_cnn_ref._registry import LAYERS
from keras_cnn_ref.benchmark.cases import LAYER_CASES, QUICK_VISION_BATCH, conv_flops, selected_cases

pytestmark = pytest.mark.quick


def test_ids_are_unique_and_every_requested_shape_is_covered():
    ids = [case["id"] for case in LAYER_CASES]
    assert len(ids) == len(set(ids))
    kernels = {case["args"].get("kernel_size") for case in LAYER_CASES if case["layer"] == "conv2d"}
    assert {1, 3, 5, 7} <= kernels
    assert any(case["args"].get("data_format") == "channels_first" for case in LAYER_CASES)
    pools = [case["args"] for case in LAYER_CASES if case["layer"] == "maxpool2d"]
    assert {"pool_size": 3, "strides": 2, "padding": "same"} in pools
    assert {LAYERS[case["layer"]].kind for case in LAYER_CASES} == {entry.kind for entry in LAYERS.values()}
    ranks = {
        (entry.kind, entry.rank) for key, entry in LAYERS.items() if entry.kind in ("conv", "max_pool", "average_pool")
    }
    assert ranks <= {(LAYERS[case["layer"]].kind, LAYERS[case["layer"]].rank) for case in LAYER_CASES}


def test_full_run_takes_both_dtypes_quick_run_float32_small_batches():
    assert {case["dtype"] for case in selected_cases(quick=False)} == {"float32", "bfloat16"}
    assert len(selected_cases(quick=False)) == 2 * len(LAYER_CASES)
    quick = selected_cases(quick=True)
    assert {case["dtype"] for case in quick} == {"float32"}
    assert all(case["shape"][0] in (128, QUICK_VISION_BATCH) for case in quick)


@pytest.mark.parametrize(
    "case, out_shape, flops",
    [
        (
            {"layer": "conv2d", "shape": (2, 5, 5, 3), "args": {"filters": 4, "kernel_size": 3}},
            (2, 3, 3, 4),
            2 * 2 * 9 * 9 * 3 * 4,
        ),
        (
            {
                "layer": "conv2d",
                "shape": (2, 3, 5, 5),
                "args": {"filters": 4, "kernel_size": (1, 2), "data_format": "channels_first"},
            },
            (2, 4, 5, 4),
            2 * 2 * 20 * 2 * 3 * 4,
        ),
        ({"layer": "maxpool2d", "shape": (2, 4, 4, 1), "args": {"pool_size": 2}}, (2, 2, 2, 1), 0),
        (
            {"layer": "conv1d", "shape": (2, 9, 4), "args": {"filters": 6, "kernel_size": 3, "groups": 2}},
            (2, 7, 6),
            2 * 2 * 7 * 3 * 2 * 6,
        ),
        (
            {"layer": "conv3d", "shape": (1, 5, 5, 5, 2), "args": {"filters": 3, "kernel_size": (3, 2, 1)}},
            (1, 3, 4, 5, 3),
            2 * 60 * 6 * 2 * 3,
        ),
        (
            {"layer": "conv2dtranspose", "shape": (2, 3, 3, 4), "args": {"filters": 5, "kernel_size": 3, "strides": 2}},
            (2, 7, 7, 5),
            2 * 2 * 9 * 9 * 4 * 5,
        ),  # every input position meets every tap
        (
            {"layer": "depthwiseconv2d", "shape": (2, 5, 5, 3), "args": {"kernel_size": 3, "depth_multiplier": 2}},
            (2, 3, 3, 6),
            2 * 2 * 9 * 9 * 3 * 2,
        ),
        (
            {"layer": "separableconv1d", "shape": (2, 9, 4), "args": {"filters": 6, "kernel_size": 3}},
            (2, 7, 6),
            2 * 2 * 7 * 3 * 4 + 2 * 2 * 7 * 4 * 6,
        ),
        ({"layer": "adaptiveavgpool2d", "shape": (2, 8, 8, 1), "args": {"output_size": 2}}, (2, 2, 2, 1), 0),
    ],
)
def test_conv_flops_count_multiply_adds_twice(case, out_shape, flops):
    assert conv_flops(case, out_shape) == flops
