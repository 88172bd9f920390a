"""The project's own tests, beside the conformance cases the plugin adds."""

import numpy as np
from my_layers import MyConv2D


def test_my_conv2d_keeps_its_filters():
    assert MyConv2D(4, 3)(np.zeros((1, 8, 8, 2), "float32")).shape == (1, 6, 6, 4)
