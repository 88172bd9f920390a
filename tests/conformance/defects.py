"""Deliberately wrong layers, each with one planted defect, to prove the suite can fail.

    keras-cnn-ref check --conv2d tests.conformance.defects:FlippedKernelConv2D

must exit non-zero and name the failing cases. Each class is registered for
`.keras` files and otherwise computes correctly. Their class names are not
Keras's, though, and Keras keys a model's layers in
`.weights.h5` files by class name: so a defective Conv2D also fails the
weight-file cases of the full suite, as any renamed drop-in would.
"""

import math

import jax.numpy as jnp
from jax import lax

from keras_cnn_ref import kernels, layers
from keras_cnn_ref.kernels.geometry import pool_geometry, spatial_axes, tap_window, window_offsets, window_pads
from keras_cnn_ref.layers import (
    AveragePooling2D,
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    DepthwiseConv2D,
    MaxPooling2D,
)
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
    """ "same" padding with the odd pad on the top/left instead of the bottom/right."""

    def convolution_op(self, inputs, kernel):
        if self.padding != "same":
            return super().convolution_op(inputs, kernel)
        pads = [(0, 0)] * 4
        for axis, size, stride, dilation in zip(
            spatial_axes(4, self.data_format), kernel.shape[:2], self.strides, self.dilation_rate
        ):
            before, after = window_pads(inputs.shape[axis], (size - 1) * dilation + 1, stride, "same")
            pads[axis] = (after, before)  # the defect
        return kernels.conv(
            jnp.pad(inputs, pads),
            kernel,
            strides=self.strides,
            padding="valid",
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            data_format=self.data_format,
        )


@register
class ChannelsFirstAsLastConv2D(Conv2D):
    """Computes channels_first input in channels_last, then reshapes back instead of transposing."""

    def convolution_op(self, inputs, kernel):
        if self.data_format == "channels_last":
            return super().convolution_op(inputs, kernel)
        out = kernels.conv(
            jnp.moveaxis(inputs, 1, -1),
            kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
        )  # (N, OH, OW, F)
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
    """ "causal" padding put after the sequence: the output keeps its length, but `output[t]` sees the future."""

    def _kernel_padding(self):
        return [pads[::-1] for pads in super()._kernel_padding()] if self.padding == "causal" else self.padding


@register
class OutputPaddingBeforeConv2DTranspose(Conv2DTranspose):
    """Puts `output_padding`'s extra positions before the data instead of after ("valid" padding)."""

    def call(self, inputs):
        if self.output_padding is None or self.padding != "valid" or not self.use_bias:
            return super().call(inputs)
        outputs = kernels.conv_transpose(
            inputs,
            self.kernel,
            strides=self.strides,
            output_padding=0,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        pads = [(0, 0)] * outputs.ndim
        for axis, extra in zip(spatial_axes(outputs.ndim, self.data_format), self.output_padding):
            pads[axis] = (extra, 0)  # the defect
        bias = self.bias if self.data_format == "channels_last" else self.bias.reshape(-1, 1, 1)
        return self.activation(jnp.pad(outputs, pads) + bias)


@register
class MultiplierMajorDepthwiseConv2D(DepthwiseConv2D):
    """Orders the output channels multiplier-major, `m * channels + c`, instead of `c * multiplier + m`."""

    def call(self, inputs):
        outputs = super().call(inputs)
        axis = 1 if self.data_format == "channels_first" else outputs.ndim - 1
        channels = outputs.shape[axis] // self.depth_multiplier
        split = outputs.reshape(*outputs.shape[:axis], channels, self.depth_multiplier, *outputs.shape[axis + 1 :])
        return jnp.swapaxes(split, axis, axis + 1).reshape(outputs.shape)  # the defect


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
            return kernels.conv(
                image[None],
                kernel,
                strides=self.strides,
                padding=self.padding,
                dilation_rate=self.dilation_rate,
                groups=self.groups,
                data_format=self.data_format,
            )[0]

        return lax.map(one_image, inputs)


if hasattr(layers, "AdaptiveAveragePooling1D"):  # Keras 3.13 on

    @register
    class FloorWindowsAdaptiveAveragePooling1D(layers.AdaptiveAveragePooling1D):
        """Adaptive windows `[floor(i * size / n), floor((i + 1) * size / n))`: they never overlap, and lose a cell."""

        def call(self, inputs):
            x = jnp.moveaxis(inputs, 1, -1) if self.data_format == "channels_first" else inputs  # (N, L, C)
            size, n = x.shape[1], self.output_size[0]
            means = [x[:, i * size // n : max((i + 1) * size // n, i * size // n + 1)].mean(axis=1) for i in range(n)]
            out = jnp.stack(means, axis=1)  # (N, n, C)
            return jnp.moveaxis(out, -1, 1) if self.data_format == "channels_first" else out


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
    "OutputPaddingBeforeConv2DTranspose": "edge_semantics/conv2dtranspose-output-padding-goes-after",
    "MultiplierMajorDepthwiseConv2D": "edge_semantics/depthwiseconv2d-output-channel-is-channel-times-multiplier-plus-filter",
    **(
        {"FloorWindowsAdaptiveAveragePooling1D": "edge_semantics/adaptiveavgpool1d-windows-round-outward-and-overlap"}
        if hasattr(layers, "AdaptiveAveragePooling1D")
        else {}
    ),
}
