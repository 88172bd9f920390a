"""Max and average pooling layers in 1-3 dimensions: Keras's own classes, with this project's kernels."""

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels.geometry import normalize_padding, ntuple
from keras_cnn_ref.layers._backend import import_keras_on_jax
from keras_cnn_ref.layers._shapes import check_output_positions

keras = import_keras_on_jax()
register = keras.saving.register_keras_serializable(package="keras_cnn_ref")


class KernelPooling:
    """Mixin for Keras's pooling layers: `call` runs `keras_cnn_ref.kernels`.

    Placed before a `keras.layers.MaxPoolingND` or `AveragePoolingND` in the
    bases, it keeps Keras's arguments, config and shapes. Max pooling sends
    each window's gradient where built-in Keras does: to its first maximal
    element. Average pooling with "same" padding divides by the input cells a
    window covers, pads excluded, as built-in Keras does.

    Where built-in Keras accepts something meaningless, these layers raise a
    ValueError instead: strides of 0 (built-in fails later with a TypeError),
    an unknown padding (built-in fails only when called), and a window larger
    than a "valid" input (built-in returns an empty tensor when called
    eagerly). Padding is stored lower-cased, as Keras's convolutions store
    it, so that `padding="SAME"` works in symbolic calls too (built-in's fail).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ntuple(self.strides, len(self.pool_size), "strides")
        self.padding = normalize_padding(self.padding)

    def compute_output_shape(self, input_shape):
        self._check_output_positions(input_shape)
        return super().compute_output_shape(input_shape)

    def call(self, inputs):
        self._check_output_positions(inputs.shape)  # `keras.ops` gives an empty output; a layer says why
        pool = kernels.max_pool if self.pool_mode == "max" else kernels.average_pool
        return pool(
            inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding, data_format=self.data_format
        )

    def _check_output_positions(self, input_shape):
        check_output_positions(
            input_shape,
            self.pool_size,
            self.strides,
            self.padding,
            self.data_format,
            f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}",
        )


def _doc(rank: int, mode: str, name: str, example: str) -> str:
    """The docstring of the `rank`-D `mode` pooling layer `name`."""
    axes = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}[rank]
    default = f". Default {(2,) * rank}" if mode == "max" else " (required, as in Keras)"
    return f"""{rank}-D {mode} pooling layer: a drop-in `keras.layers.{name}` (see `KernelPooling`).

    Args:
        pool_size: int or {rank}-tuple, the window size{default}.
        strides: int or {rank}-tuple; `None` (default) means `pool_size`.
        padding: `"valid"` or `"same"` (case-insensitive), the odd pad after.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        name, `**kwargs`: as `keras.layers.{name}`.

    Input shape:
        `(batch, {axes}, channels)` for `"channels_last"`,
        `(batch, channels, {axes})` for `"channels_first"`.

    Output shape:
        The same layout, each spatial size `(size - pool_size) // strides + 1`
        for "valid" and `ceil(size / strides)` for "same".

    Example:
    {example}
    """


@register
class MaxPooling1D(KernelPooling, keras.layers.MaxPooling1D):
    __doc__ = _doc(
        1,
        "max",
        "MaxPooling1D",
        """>>> MaxPooling1D(3)(np.zeros((1, 10, 2), "float32")).shape
    (1, 3, 2)""",
    )


@register
class MaxPooling2D(KernelPooling, keras.layers.MaxPooling2D):
    __doc__ = _doc(
        2,
        "max",
        "MaxPooling2D",
        """>>> MaxPooling2D((2, 2))(np.zeros((1, 11, 11, 8), "float32")).shape
    (1, 5, 5, 8)""",
    )


@register
class MaxPooling3D(KernelPooling, keras.layers.MaxPooling3D):
    __doc__ = _doc(
        3,
        "max",
        "MaxPooling3D",
        """>>> MaxPooling3D(2)(np.zeros((1, 4, 5, 6, 3), "float32")).shape
    (1, 2, 2, 3, 3)""",
    )


@register
class AveragePooling1D(KernelPooling, keras.layers.AveragePooling1D):
    __doc__ = _doc(
        1,
        "average",
        "AveragePooling1D",
        """>>> x = np.arange(1.0, 6.0, dtype="float32").reshape(1, 5, 1)
    >>> AveragePooling1D(2, padding="same")(x)[0, :, 0]  # the last window holds 5 alone
    Array([1.5, 3.5, 5. ], dtype=float32)""",
    )


@register
class AveragePooling2D(KernelPooling, keras.layers.AveragePooling2D):
    __doc__ = _doc(
        2,
        "average",
        "AveragePooling2D",
        """>>> AveragePooling2D(3, strides=2)(np.zeros((1, 9, 9, 4), "float32")).shape
    (1, 4, 4, 4)""",
    )


@register
class AveragePooling3D(KernelPooling, keras.layers.AveragePooling3D):
    __doc__ = _doc(
        3,
        "average",
        "AveragePooling3D",
        """>>> AveragePooling3D(2, padding="same")(np.zeros((1, 3, 4, 5, 2), "float32")).shape
    (1, 2, 2, 3, 2)""",
    )
