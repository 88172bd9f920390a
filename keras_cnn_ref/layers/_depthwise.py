"""Depthwise and separable convolutions in 1 and 2 dimensions: Keras's own classes on this project's kernels."""

from keras_cnn_ref import kernels
from keras_cnn_ref.layers._backend import import_keras_on_jax, kernel_plan

keras = import_keras_on_jax()
register = keras.saving.register_keras_serializable(package="keras_cnn_ref")


class KernelDepthwiseConv:
    """Mixin for Keras's depthwise convolutions: the math moves to `kernels.depthwise_conv`.

    Keras keeps arguments, validation, the `(*kernel_size, channels,
    depth_multiplier)` kernel, config and shapes. Output channel
    `c * depth_multiplier + m` is input channel `c` through its filter `m`.
    """

    def call(self, inputs):
        outputs = kernels.depthwise_conv(
            inputs,
            self.kernel,
            bias=self.bias if self.use_bias else None,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
            plan=kernel_plan(self.kernel),
        )
        return outputs if self.activation is None else self.activation(outputs)


class KernelSeparableConv:
    """Mixin for Keras's separable convolutions: `kernels.separable_conv`, a depthwise then a 1x1 convolution.

    Keras keeps arguments, both kernels (`depthwise_kernel`,
    `pointwise_kernel`), config and shapes; the bias joins the pointwise sums.
    """

    def call(self, inputs):
        outputs = kernels.separable_conv(
            inputs,
            self.depthwise_kernel,
            self.pointwise_kernel,
            bias=self.bias if self.use_bias else None,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
            plan=kernel_plan(self.pointwise_kernel),
        )
        return outputs if self.activation is None else self.activation(outputs)


def _doc(rank: int, name: str, what: str, example: str) -> str:
    return f"""{rank}-D {what} layer: a drop-in `keras.layers.{name}`, with Keras's arguments, weights and config.

    See `KernelDepthwiseConv` and `KernelSeparableConv` for the math.

    Example:
    {example}
    """


@register
class DepthwiseConv1D(KernelDepthwiseConv, keras.layers.DepthwiseConv1D):
    __doc__ = _doc(
        1,
        "DepthwiseConv1D",
        "depthwise convolution",
        """>>> DepthwiseConv1D(3, depth_multiplier=2)(np.zeros((2, 10, 3), "float32")).shape
    (2, 8, 6)""",
    )


@register
class DepthwiseConv2D(KernelDepthwiseConv, keras.layers.DepthwiseConv2D):
    __doc__ = _doc(
        2,
        "DepthwiseConv2D",
        "depthwise convolution",
        """>>> DepthwiseConv2D(7, padding="same")(np.zeros((1, 14, 14, 8), "float32")).shape
    (1, 14, 14, 8)""",
    )


@register
class SeparableConv1D(KernelSeparableConv, keras.layers.SeparableConv1D):
    __doc__ = _doc(
        1,
        "SeparableConv1D",
        "separable convolution",
        """>>> SeparableConv1D(4, 3, padding="same")(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)""",
    )


@register
class SeparableConv2D(KernelSeparableConv, keras.layers.SeparableConv2D):
    __doc__ = _doc(
        2,
        "SeparableConv2D",
        "separable convolution",
        """>>> SeparableConv2D(8, 3, strides=2)(np.zeros((1, 9, 9, 4), "float32")).shape
    (1, 4, 4, 8)""",
    )
