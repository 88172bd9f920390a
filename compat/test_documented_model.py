"""`pytest compat`: the documented-model section, and proof that it can fail."""

import jax.numpy as jnp
import keras

from keras_cnn_ref import Conv2D, MaxPooling2D, kernels
from keras_cnn_ref.compat.cases import MAXPOOL2D_CASES
from keras_cnn_ref.compat.documented_model import check_documented_model
from keras_cnn_ref.compat.harness import check_case


def test_documented_model_matches_builtin_with_the_documented_figures():
    results = check_documented_model(Conv2D, MaxPooling2D)
    assert not [result for result in results if not result.ok]
    params = {result.case: result.comparison.detail for result in results if "params" in result.compared}
    assert params["conv2d"] == "ours=40 | builtin=40 | documented=40"
    assert params["conv2d_1"] == "ours=296 | builtin=296 | documented=296"
    assert params["conv2d_2"] == "ours=1168 | builtin=1168 | documented=1168"
    assert params["model"] == "ours=6474 | builtin=6474 | documented=6474"


class FlippedKernelConv2D(Conv2D):
    """A true convolution: the kernel rotated by 180 degrees."""

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel[::-1, ::-1])


class SplitTiesMaxPooling2D(MaxPooling2D):
    """Non-overlapping max pooling through jnp.max, which splits tied gradients."""

    def call(self, inputs):
        n, h, w, c = inputs.shape
        (ph, pw), (oh, ow) = self.pool_size, (h // self.pool_size[0], w // self.pool_size[1])
        windows = inputs[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)  # (N, OH, ph, OW, pw, C)
        return jnp.max(windows, axis=(2, 4))


def test_a_flipped_kernel_fails_at_the_first_layer():
    failures = [result for result in check_documented_model(FlippedKernelConv2D, MaxPooling2D) if not result.ok]
    assert failures and failures[0].case == "conv2d" and failures[0].compared == "output"


def test_split_tie_gradients_fail_on_the_tie_heavy_grid():
    # The documented model cannot show this defect: its pools follow relus, so
    # its only ties are exact zeros, whose gradient relu zeroes anyway.
    case = next(case for case in MAXPOOL2D_CASES if case["id"] == "p2x2-sdefault-valid-last-in8-float32")
    assert check_documented_model(Conv2D, SplitTiesMaxPooling2D)[-1].ok
    results = check_case(SplitTiesMaxPooling2D, keras.layers.MaxPooling2D, case)
    assert results["output"].ok and not results["grad input"].ok


def test_the_kernels_are_what_the_layers_run():
    assert Conv2D.convolution_op.__module__ == "keras_cnn_ref.layers._conv"
    assert kernels.conv2d.__module__ == "keras_cnn_ref.kernels._conv"
