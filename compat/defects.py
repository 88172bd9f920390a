"""Deliberately wrong layers, each with one planted defect, to prove the suite can fail.

    keras-cnn-ref check --conv2d keras_cnn_ref.compat.defects:FlippedKernelConv2D

must exit non-zero and name the failing cases. Each class is registered for
`.keras` files and otherwise computes correctly. Their class names are not
Keras's, though, and Keras keys a model's layers in
`.weights.h5` files by class name: so a defective Conv2D also fails the
weight-file cases of the full suite, as any renamed drop-in would.
"""

import math

import jax.numpy as jnp
from jax import lax

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels._geometry import spatial_axes, tap_window, window_offsets, window_pads
from keras_cnn_ref.kernels._pool import pool_geometry
from keras_cnn_ref.layers import AveragePooling2D, Conv1D, Conv2D, Conv3D, MaxPooling2D
from keras_cnn_ref.models import keras

register = keras.saving.register_keras_serializable(package="keras_cnn_ref_defects")


@register
class FlippedKernelConv2D(Conv2D):
    """A true convolution: the kernel rotated by 180 degrees."""

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel[::-1, ::-1])


@register
class MissingBiasConv2D(Conv2D):
    """Creates the bias but never adds it."""

    def call(self, inputs):
        return self.activation(self.convolution_op(inputs, self.kernel))


@register
class TopLeftSamePaddingConv2D(Conv2D):
    """"same" padding with the odd pad on the top/left instead of the bottom/right."""

    def convolution_op(self, inputs, kernel):
        if self.padding != "same":
            return super().convolution_op(inputs, kernel)
        pads = [(0, 0)] * 4
        for axis, size, stride, dilation in zip(spatial_axes(4, self.data_format), kernel.shape[:2],
                                                self.strides, self.dilation_rate):
            before, after = window_pads(inputs.shape[axis], (size - 1) * dilation + 1, stride, "same")
            pads[axis] = (after, before)  # the defect
        return kernels.conv(jnp.pad(inputs, pads), kernel, strides=self.strides, padding="valid",
                              dilation_rate=self.dilation_rate, groups=self.groups, data_format=self.data_format)


@register
class ChannelsFirstAsLastConv2D(Conv2D):
    """Computes channels_first input in channels_last, then reshapes back instead of transposing."""

    def convolution_op(self, inputs, kernel):
        if self.data_format == "channels_last":
            return super().convolution_op(inputs, kernel)
        out = kernels.conv(jnp.moveaxis(inputs, 1, -1), kernel, strides=self.strides, padding=self.padding,
                             dilation_rate=self.dilation_rate, groups=self.groups)  # (N, OH, OW, F)
        return out.reshape(out.shape[0], out.shape[3], *out.shape[1:3])  # the defect: not a transpose


@register
class SplitTiesMaxPooling2D(MaxPooling2D):
    """jnp.max over the stacked windows: tied maxima share the gradient equally."""

    def call(self, inputs):
        window, strides, pads = pool_geometry(inputs, self.pool_size, self.strides, self.padding, self.data_format)
        padded = jnp.pad(inputs, pads, constant_values=-jnp.inf)
        out_shape = [(n - w) // s + 1 for n, w, s in zip(padded.shape, window, strides)]
        taps = [tap_window(padded, offset, out_shape, strides) for offset in window_offsets(window, (1,) * 4)]
        return jnp.max(jnp.stack(taps), axis=0)


@register
class ZeroPaddedMaxPooling2D(MaxPooling2D):
    """Pads "same" windows with 0 instead of -inf."""

    def call(self, inputs):
        window, strides, pads = pool_geometry(inputs, self.pool_size, self.strides, self.padding, self.data_format)
        return kernels.pool(inputs, jnp.zeros((), inputs.dtype), lax.max, window, strides, pads)


@register
class FutureLeakingConv1D(Conv1D):
    """"causal" padding put after the sequence: output[t] sees the future."""

    def call(self, inputs):
        if self.padding != "causal":
            return super().call(inputs)
        left_pad = self._compute_causal_padding()
        return super(Conv1D, self).call(jnp.pad(inputs, [pads[::-1] for pads in left_pad]))  # the defect


@register
class FlippedDepthConv3D(Conv3D):
    """Correlates along height and width, but convolves (flips the kernel) along depth."""

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel[::-1])


@register
class PadsCountedAveragePooling2D(AveragePooling2D):
    """Divides every window's sum by the full window size, pads included."""

    def call(self, inputs):
        window, strides, pads = pool_geometry(inputs, self.pool_size, self.strides, self.padding, self.data_format)
        return kernels.pool(inputs, jnp.zeros((), inputs.dtype), lax.add, window, strides, pads) / math.prod(window)


@register
class BatchLoopConv2D(Conv2D):
    """Convolves one image at a time (`lax.map`): right on one device, but a loop over the sharded batch axis."""

    def convolution_op(self, inputs, kernel):
        def one_image(image):
            return kernels.conv(image[None], kernel, strides=self.strides, padding=self.padding,
                                dilation_rate=self.dilation_rate, groups=self.groups, data_format=self.data_format)[0]

        return lax.map(one_image, inputs)


PLANTED = {  # defect -> the case made to catch it
    "FlippedKernelConv2D": "edge_semantics/conv-cross-correlation-not-flipped",
    "MissingBiasConv2D": "edge_semantics/conv-bias-is-added",
    "TopLeftSamePaddingConv2D": "edge_semantics/conv-same-odd-pad-even-kernel",
    "ChannelsFirstAsLastConv2D": "edge_semantics/conv-channels-first-layout",
    "SplitTiesMaxPooling2D": "edge_semantics/maxpool-tie-goes-to-first-maximum",
    "ZeroPaddedMaxPooling2D": "edge_semantics/maxpool-pads-with-minus-inf",
    "FutureLeakingConv1D": "edge_semantics/conv1d-causal-pads-before-only",
    "FlippedDepthConv3D": "edge_semantics/conv3d-cross-correlation-on-every-axis",
    "PadsCountedAveragePooling2D": "edge_semantics/avgpool-same-excludes-pads-from-divisor",
    "BatchLoopConv2D": "distribution/documented-data-layers",
}
