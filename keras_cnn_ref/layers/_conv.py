"""`Conv1D`, `Conv2D` and `Conv3D`: Keras's own layer classes, with this project's convolution kernel."""

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels.geometry import dilated_extent
from keras_cnn_ref.layers._backend import import_keras_on_jax, kernel_plan
from keras_cnn_ref.layers._shapes import check_output_positions

keras = import_keras_on_jax()
register = keras.saving.register_keras_serializable(package="keras_cnn_ref")


class KernelConv:
    """Mixin for Keras's convolution layers: the math moves to this project's kernel.

    Placed before a `keras.layers.ConvND` in the bases, it leaves arguments,
    validation, weights (names, shapes, order), `get_config`, LoRA,
    regularizers, constraints and dtype policies to Keras. The math is
    `keras_cnn_ref.kernels.conv`: one strided window of the padded input per
    kernel tap, contracted with that tap's weights and summed.
    """

    def call(self, inputs):
        """Keras's `BaseConv.call`, with the bias added inside the kernel's loop over the batch.

        That saves a pass over the output. A subclass that overrides
        `convolution_op` has it called as Keras does, and the bias added after.
        """
        bias = self.bias if self.use_bias else None
        if type(self).convolution_op is KernelConv.convolution_op:
            outputs = self._convolve(inputs, self.kernel, bias)
        else:
            outputs = self.convolution_op(inputs, self.kernel)
            if bias is not None:
                ones = (1,) * self.rank
                shape = (1, *ones, self.filters) if self.data_format == "channels_last" else (1, self.filters, *ones)
                outputs = keras.ops.add(outputs, keras.ops.reshape(bias, shape))
        return outputs if self.activation is None else self.activation(outputs)

    def compute_output_shape(self, input_shape):
        extents = list(map(dilated_extent, self.kernel_size, self.dilation_rate))
        check_output_positions(
            input_shape,
            extents,
            self.strides,
            self.padding,
            self.data_format,
            f"kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding!r}, "
            f"dilation_rate={self.dilation_rate}",
        )
        return super().compute_output_shape(input_shape)

    def convolution_op(self, inputs, kernel):
        """Keras's seam: the convolution alone, without the bias."""
        return self._convolve(inputs, kernel, None)

    def _kernel_padding(self):
        """`padding` as the kernel takes it: "causal" (Conv1D's) is every pad before the sequence."""
        if self.padding != "causal":
            return self.padding
        return [(dilated_extent(self.kernel_size[0], self.dilation_rate[0]) - 1, 0)]

    def _convolve(self, inputs, kernel, bias):
        return kernels.conv(
            inputs,
            kernel,
            bias=bias,
            strides=self.strides,
            padding=self._kernel_padding(),
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            data_format=self.data_format,
            plan=kernel_plan(kernel),
        )


_SHARED_ARGS = """activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint, lora_rank, lora_alpha, and
        `**kwargs` (`name`, `dtype`, ...): exactly as Keras's layer."""


@register
class Conv1D(KernelConv, keras.layers.Conv1D):
    """1-D convolution layer: a drop-in `keras.layers.Conv1D` on explicit kernels.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or 1-tuple, the length of the window.
        strides: int or 1-tuple; `strides > 1` excludes `dilation_rate > 1`.
        padding: `"valid"`, `"same"` or `"causal"` (case-insensitive):
            "causal" pads `(kernel_size - 1) * dilation_rate` zeros before
            the sequence only, so `output[t]` never sees `input[t + 1:]`.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or 1-tuple, the spacing of the kernel taps.
        groups: int dividing both the input channels and `filters`.
        {shared}

    Input shape:
        `(batch, steps, channels)` for `"channels_last"`,
        `(batch, channels, steps)` for `"channels_first"`.

    Output shape:
        `(batch, new_steps, filters)` (or channels first).

    Example:
    >>> Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """


@register
class Conv2D(KernelConv, keras.layers.Conv2D):
    """2-D convolution layer: a drop-in `keras.layers.Conv2D` on explicit kernels.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or pair, the height and width of the window.
        strides: int or pair; `strides > 1` excludes `dilation_rate > 1`.
        padding: `"valid"` or `"same"` (case-insensitive); "same" puts the
            odd pad at the bottom/right, as built-in Keras does.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or pair, the spacing of the kernel taps.
        groups: int dividing both the input channels and `filters`.
        {shared}

    Input shape:
        `(batch, rows, cols, channels)` for `"channels_last"`,
        `(batch, channels, rows, cols)` for `"channels_first"`.

    Output shape:
        `(batch, new_rows, new_cols, filters)` (or channels first), with
        `new = ceil(size / stride)` for "same" and
        `new = (size - (kernel - 1) * dilation - 1) // stride + 1` for "valid".

    Example:
    >>> layer = Conv2D(4, (3, 3), activation="relu")
    >>> layer(np.zeros((2, 28, 28, 1), "float32")).shape
    (2, 26, 26, 4)
    >>> layer.count_params()
    40
    """


@register
class Conv3D(KernelConv, keras.layers.Conv3D):
    """3-D convolution layer: a drop-in `keras.layers.Conv3D` on explicit kernels.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or triple, the depth, height and width of the window.
        strides: int or triple; `strides > 1` excludes `dilation_rate > 1`.
        padding: `"valid"` or `"same"` (case-insensitive), the odd pad after.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or triple, the spacing of the kernel taps.
        groups: int dividing both the input channels and `filters`.
        {shared}

    Input shape:
        `(batch, depth, rows, cols, channels)` for `"channels_last"`,
        `(batch, channels, depth, rows, cols)` for `"channels_first"`.

    Output shape:
        `(batch, new_depth, new_rows, new_cols, filters)` (or channels first).

    Example:
    >>> Conv3D(2, 3, padding="same")(np.zeros((1, 4, 5, 6, 3), "float32")).shape
    (1, 4, 5, 6, 2)
    """


for _layer in (Conv1D, Conv2D, Conv3D):
    _layer.__doc__ = _layer.__doc__.replace("{shared}", _SHARED_ARGS)
