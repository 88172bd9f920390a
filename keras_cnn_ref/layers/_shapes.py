"""Output shapes that have no output position are an error on every supported Keras, as on the newest."""

from collections.abc import Sequence

from keras_cnn_ref.kernels.geometry import output_size, window_pads


def check_output_positions(
    input_shape: Sequence[int | None],
    windows: Sequence[int],
    strides: Sequence[int],
    padding: str,
    data_format: str,
    received: str,
) -> None:
    """Raises Keras's ValueError when a known spatial axis leaves no window position.

    Keras 3.14 and 3.15 raise it from `compute_output_shape` (convolutions
    from 3.14, pooling from 3.15); Keras 3.12 and 3.13 return a shape with a
    zero or negative size instead. `received` names the layer's arguments.

    >>> check_output_positions((None, 8, 8, 3), (9, 9), (1, 1), "valid", "channels_last", "pool_size=(9, 9)")
    Traceback (most recent call last):
    ValueError: Computed output size would be zero or negative. Received: inputs.shape=(None, 8, 8, 3), pool_size=(9, 9)
    """
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    for size, window, stride in zip(spatial, windows, strides):
        if not size:  # unknown, or an empty axis: Keras's own shape rules decide
            continue
        pads = window_pads(size, window, stride, "valid" if padding == "valid" else "same")  # "causal" pads as much
        if output_size(size, window, stride, pads) == 0:
            raise ValueError(
                "Computed output size would be zero or negative. "
                f"Received: inputs.shape={tuple(input_shape)}, {received}"
            )
