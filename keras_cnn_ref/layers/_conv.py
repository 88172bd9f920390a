"""`Conv2D`: Keras's own layer class, with this project's convolution kernel."""

from keras_cnn_ref import kernels
from keras_cnn_ref.layers._backend import import_keras_on_jax

keras = import_keras_on_jax()


@keras.saving.register_keras_serializable(package="keras_cnn_ref")
class Conv2D(keras.layers.Conv2D):
    """2-D convolution layer: a drop-in `keras.layers.Conv2D` on explicit kernels.

    It subclasses `keras.layers.Conv2D` and replaces only `convolution_op`, so
    arguments, validation, weights (names, shapes, order), `get_config`, LoRA,
    regularizers, constraints and dtype policies are Keras's own. The math is
    `keras_cnn_ref.kernels.conv2d`: one strided window of the padded input
    per kernel tap, contracted with that tap's weights and summed.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or pair, the height and width of the window.
        strides: int or pair; `strides > 1` excludes `dilation_rate > 1`.
        padding: `"valid"` or `"same"` (case-insensitive); "same" puts the
            odd pad at the bottom/right, as built-in Keras does.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or pair, the spacing of the kernel taps.
        groups: int dividing both the input channels and `filters`.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint, lora_rank, lora_alpha, and
        `**kwargs` (`name`, `dtype`, ...): exactly as `keras.layers.Conv2D`.

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

    def convolution_op(self, inputs, kernel):
        return kernels.conv2d(
            inputs,
            kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            data_format=self.data_format,
        )
