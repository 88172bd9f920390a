"""`MaxPooling2D`: Keras's own layer class, with this project's pooling kernel."""

from keras_cnn_ref import kernels
from keras_cnn_ref.kernels._geometry import normalize_padding, ntuple
from keras_cnn_ref.layers._backend import import_keras_on_jax

keras = import_keras_on_jax()


@keras.saving.register_keras_serializable(package="keras_cnn_ref")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """2-D max pooling layer: a drop-in `keras.layers.MaxPooling2D`.

    It subclasses `keras.layers.MaxPooling2D` and replaces only `call` with
    `keras_cnn_ref.kernels.max_pool2d`. Gradients go where built-in Keras
    sends them: to the first maximal element of each window. Where built-in
    Keras accepts something meaningless, this layer raises a ValueError
    instead: strides of 0 (built-in fails later with a TypeError), an unknown
    padding (built-in fails only when called), and a window larger than a
    "valid" input (built-in returns an empty tensor when called eagerly).
    Padding is stored lower-cased, as Keras's Conv2D stores it, so that
    `padding="SAME"` works in symbolic calls too (built-in's fail).

    Args:
        pool_size: int or pair, the window size. Default `(2, 2)`.
        strides: int or pair; `None` (default) means `pool_size`.
        padding: `"valid"` or `"same"` (case-insensitive).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        name, `**kwargs`: as `keras.layers.MaxPooling2D`.

    Input shape:
        `(batch, rows, cols, channels)` for `"channels_last"`,
        `(batch, channels, rows, cols)` for `"channels_first"`.

    Output shape:
        `new = (size - pool_size) // strides + 1` for "valid",
        `new = ceil(size / strides)` for "same".

    Example:
    >>> MaxPooling2D((2, 2))(np.zeros((1, 11, 11, 8), "float32")).shape
    (1, 5, 5, 8)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)
        ntuple(self.strides, 2, "strides")
        self.padding = normalize_padding(padding)

    def call(self, inputs):
        return kernels.max_pool2d(
            inputs,
            pool_size=self.pool_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
        )
