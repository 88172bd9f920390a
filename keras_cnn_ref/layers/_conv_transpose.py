"""`Conv1DTranspose`, `Conv2DTranspose` and `Conv3DTranspose`: Keras's own classes on `kernels.conv_transpose`."""

from keras_cnn_ref import kernels
from keras_cnn_ref.layers._backend import import_keras_on_jax, kernel_plan

keras = import_keras_on_jax()
register = keras.saving.register_keras_serializable(package="keras_cnn_ref")


class KernelConvTranspose:
    """Mixin for Keras's transposed convolutions: the math moves to `kernels.conv_transpose`.

    Placed before a `keras.layers.ConvNDTranspose` in the bases, it leaves
    arguments, validation (`output_padding < strides`, ...), weights
    (`(*kernel_size, filters, in_channels)`), config and output shapes to
    Keras. Each input position sends its values times the kernel to its
    window of the output, `strides` apart; the bias is added after the
    sums are rounded, as Keras adds it.
    """

    def call(self, inputs):
        outputs = kernels.conv_transpose(
            inputs,
            self.kernel,
            bias=self.bias if self.use_bias else None,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
            plan=kernel_plan(self.kernel),
        )
        return outputs if self.activation is None else self.activation(outputs)


def _doc(rank: int, example: str) -> str:
    axes = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}[rank]
    return f"""{rank}-D transposed convolution layer: a drop-in `keras.layers.Conv{rank}DTranspose` (see `KernelConvTranspose`).

    Args:
        filters: int, the number of output channels.
        kernel_size: int or {rank}-tuple, the window's size.
        strides: int or {rank}-tuple: the output is about `strides` times the input.
        padding: `"valid"` or `"same"` (case-insensitive).
        output_padding: None, an int or a {rank}-tuple, each less than its
            stride: positions added after the data along each axis.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or {rank}-tuple, the spacing of the kernel taps.
        activation, use_bias, kernel_initializer, bias_initializer, the
            regularizers and constraints, and `**kwargs`: as Keras's layer.

    Input shape:
        `(batch, {axes}, channels)` for `"channels_last"`, or channels first.

    Output shape:
        `(batch, new_{axes.replace(", ", ", new_")}, filters)` (or channels first), with
        `new = size * stride` for "same" and
        `new = (size - 1) * stride + max(dilated kernel, stride)` for "valid"
        when `output_padding` is None.

    Example:
    {example}
    """


@register
class Conv1DTranspose(KernelConvTranspose, keras.layers.Conv1DTranspose):
    __doc__ = _doc(
        1,
        """>>> Conv1DTranspose(4, 3, strides=2)(np.zeros((2, 10, 3), "float32")).shape
    (2, 21, 4)""",
    )


@register
class Conv2DTranspose(KernelConvTranspose, keras.layers.Conv2DTranspose):
    __doc__ = _doc(
        2,
        """>>> Conv2DTranspose(8, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 16), "float32")).shape
    (1, 14, 14, 8)""",
    )


@register
class Conv3DTranspose(KernelConvTranspose, keras.layers.Conv3DTranspose):
    __doc__ = _doc(
        3,
        """>>> Conv3DTranspose(2, 2, strides=2)(np.zeros((1, 2, 3, 4, 5), "float32")).shape
    (1, 4, 6, 8, 2)""",
    )
