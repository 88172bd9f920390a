"""Adaptive max and average pooling in 1-3 dimensions (Keras 3.13 on): Keras's own classes on the kernels."""

from keras_cnn_ref import kernels
from keras_cnn_ref.layers._backend import import_keras_on_jax

keras = import_keras_on_jax()
register = keras.saving.register_keras_serializable(package="keras_cnn_ref")


class KernelAdaptivePooling:
    """Mixin for Keras's adaptive pooling layers: `pool_kernel`, `kernels.adaptive_max_pool` or `_average_pool`.

    Keras keeps `output_size`, its validation, config and shapes. Window
    `i` of `n` along an axis of `size` covers `[floor(i * size / n),
    ceil((i + 1) * size / n))`, as in Keras; a max window's gradient goes to
    its first maximum along the first axis, then the next, as Keras's does.
    """

    pool_kernel = staticmethod(kernels.adaptive_average_pool)

    def call(self, inputs):
        return self.pool_kernel(inputs, self.output_size, data_format=self.data_format)


class KernelAdaptiveMaxPooling(KernelAdaptivePooling):
    pool_kernel = staticmethod(kernels.adaptive_max_pool)


def _doc(rank: int, mode: str, name: str) -> str:
    return f"""{rank}-D adaptive {mode} pooling layer: a drop-in `keras.layers.{name}` (see `KernelAdaptivePooling`).

    Args:
        output_size: int or {rank}-tuple, the number of windows along each axis.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        `**kwargs`: as Keras's layer.

    Example:
    >>> {name}({(3, 2, 4)[:rank] if rank > 1 else 3})(np.zeros((1, {", ".join(("7", "5", "9")[:rank])}, 2), "float32")).shape
    (1, {", ".join(map(str, (3, 2, 4)[:rank]))}, 2)
    """


@register
class AdaptiveMaxPooling1D(KernelAdaptiveMaxPooling, keras.layers.AdaptiveMaxPooling1D):
    __doc__ = _doc(1, "max", "AdaptiveMaxPooling1D")


@register
class AdaptiveMaxPooling2D(KernelAdaptiveMaxPooling, keras.layers.AdaptiveMaxPooling2D):
    __doc__ = _doc(2, "max", "AdaptiveMaxPooling2D")


@register
class AdaptiveMaxPooling3D(KernelAdaptiveMaxPooling, keras.layers.AdaptiveMaxPooling3D):
    __doc__ = _doc(3, "max", "AdaptiveMaxPooling3D")


@register
class AdaptiveAveragePooling1D(KernelAdaptivePooling, keras.layers.AdaptiveAveragePooling1D):
    __doc__ = _doc(1, "average", "AdaptiveAveragePooling1D")


@register
class AdaptiveAveragePooling2D(KernelAdaptivePooling, keras.layers.AdaptiveAveragePooling2D):
    __doc__ = _doc(2, "average", "AdaptiveAveragePooling2D")


@register
class AdaptiveAveragePooling3D(KernelAdaptivePooling, keras.layers.AdaptiveAveragePooling3D):
    __doc__ = _doc(3, "average", "AdaptiveAveragePooling3D")
