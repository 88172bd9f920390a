"""The one list of this project's layers: each one's Keras class, rank and kind.

Everything that enumerates layers reads it: the package's lazy names, the
layers' re-exports, the conformance suite's case tables and runner flags,
the serialization tests. It imports nothing, so `import keras_cnn_ref`
stays free of Keras.

>>> LAYERS["conv2dtranspose"]
Entry(class_name='Conv2DTranspose', rank=2, kind='conv_transpose', since=(3, 12))
"""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """One layer.

    Attributes:
        class_name: its Keras class's name, which it keeps.
        rank: its number of spatial axes (Keras's `layer.rank`).
        kind: "conv", "conv_transpose", "depthwise", "separable", "max_pool",
            "average_pool", "adaptive_max_pool" or "adaptive_average_pool".
        since: the first Keras `(major, minor)` that has the class.
    """

    class_name: str
    rank: int
    kind: str
    since: tuple[int, int] = (3, 12)


# kind: (the key's stem, the class name's pattern, the ranks Keras has, since)
_FAMILIES = {
    "conv": ("conv", "Conv{}D", (1, 2, 3), (3, 12)),
    "conv_transpose": ("conv", "Conv{}DTranspose", (1, 2, 3), (3, 12)),
    "depthwise": ("depthwiseconv", "DepthwiseConv{}D", (1, 2), (3, 12)),
    "separable": ("separableconv", "SeparableConv{}D", (1, 2), (3, 12)),
    "max_pool": ("maxpool", "MaxPooling{}D", (1, 2, 3), (3, 12)),
    "average_pool": ("avgpool", "AveragePooling{}D", (1, 2, 3), (3, 12)),
    "adaptive_max_pool": ("adaptivemaxpool", "AdaptiveMaxPooling{}D", (1, 2, 3), (3, 13)),
    "adaptive_average_pool": ("adaptiveavgpool", "AdaptiveAveragePooling{}D", (1, 2, 3), (3, 13)),
}

# key ("conv2d", "conv2dtranspose", "adaptivemaxpool3d", ...: the case tables' and the runner's flags) -> Entry
LAYERS: dict[str, Entry] = {
    f"{stem}{rank}d{'transpose' if kind == 'conv_transpose' else ''}": Entry(pattern.format(rank), rank, kind, since)
    for kind, (stem, pattern, ranks, since) in _FAMILIES.items()
    for rank in ranks
}

CONVOLUTIONS = ("conv", "conv_transpose", "depthwise", "separable")


def available(keras_version: tuple[int, int]) -> dict[str, Entry]:
    """The entries whose Keras class exists in Keras `keras_version`.

    >>> len(available((3, 12))), len(available((3, 15)))
    (16, 22)
    """
    return {key: entry for key, entry in LAYERS.items() if keras_version >= entry.since}
