"""The documented MNIST model of the CNN notes this project is built on.

The table is the single source of the architecture and of the figures the
notes give for it: each layer's output shape and parameter count.
"""

from __future__ import annotations

from keras_cnn_ref.layers import Conv2D, MaxPooling2D
from keras_cnn_ref.layers._backend import import_keras_on_jax

keras = import_keras_on_jax()

INPUT_SHAPE = (28, 28, 1)

# "conv2d" and "maxpool2d" layers take the classes given to `documented_model`.
DOCUMENTED_LAYERS = [
    {
        "id": "conv2d",
        "kind": "conv2d",
        "args": {"filters": 4, "kernel_size": (3, 3), "activation": "relu"},
        "output_shape": (26, 26, 4),
        "params": 40,
    },  # 4 * (3*3 + 1)
    {
        "id": "max_pooling2d",
        "kind": "maxpool2d",
        "args": {"pool_size": (2, 2)},
        "output_shape": (13, 13, 4),
        "params": 0,
    },
    {
        "id": "conv2d_1",
        "kind": "conv2d",
        "args": {"filters": 8, "kernel_size": (3, 3), "activation": "relu"},
        "output_shape": (11, 11, 8),
        "params": 296,
    },  # ((3*3)*4 + 1) * 8
    {
        "id": "max_pooling2d_1",
        "kind": "maxpool2d",
        "args": {"pool_size": (2, 2)},
        "output_shape": (5, 5, 8),
        "params": 0,
    },  # the last row and column are thrown away
    {
        "id": "conv2d_2",
        "kind": "conv2d",
        "args": {"filters": 16, "kernel_size": (3, 3), "activation": "relu"},
        "output_shape": (3, 3, 16),
        "params": 1168,
    },  # ((3*3)*8 + 1) * 16
    {"id": "flatten", "kind": "flatten", "args": {}, "output_shape": (144,), "params": 0},
    {
        "id": "dense",
        "kind": "dense",
        "args": {"units": 32, "activation": "relu"},
        "output_shape": (32,),
        "params": 4640,
    },
    {
        "id": "dense_1",
        "kind": "dense",
        "args": {"units": 10, "activation": "softmax"},
        "output_shape": (10,),
        "params": 330,
    },
]
TOTAL_PARAMS = sum(layer["params"] for layer in DOCUMENTED_LAYERS)  # 6474


def documented_model(conv2d: type = Conv2D, maxpool2d: type = MaxPooling2D, name: str = "documented_mnist"):
    """Builds the documented MNIST model, unbuilt weights freshly initialised.

    Args:
        conv2d: the Conv2D class to use (this project's by default).
        maxpool2d: the MaxPooling2D class to use (this project's by default).
        name: the model's name.

    Example:
    >>> documented_model().count_params()
    6474
    >>> builtin = documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D)
    """
    classes = {"conv2d": conv2d, "maxpool2d": maxpool2d, "flatten": keras.layers.Flatten, "dense": keras.layers.Dense}
    layers = [classes[spec["kind"]](**spec["args"], name=spec["id"]) for spec in DOCUMENTED_LAYERS]
    return keras.Sequential([keras.Input(INPUT_SHAPE), *layers], name=name)


def wider_model(conv2d: type = Conv2D, maxpool2d: type = MaxPooling2D, name: str = "wider_mnist"):
    """The documented model's shape with the filters of a common MNIST convnet: 32 and 64, each pooled.

    >>> wider_model().count_params()
    34826
    """
    layers = [conv2d(32, 3, activation="relu"), maxpool2d(2), conv2d(64, 3, activation="relu"), maxpool2d(2)]
    head = [keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential([keras.Input(INPUT_SHAPE), *layers, *head], name=name)


def residual_model(conv2d: type = Conv2D, maxpool2d: type = MaxPooling2D, name: str = "residual_mnist"):
    """A stem, one residual block (two "same" 3x3 convolutions added to the identity), and a pooled head.

    >>> residual_model().count_params()
    12650
    """
    inputs = keras.Input(INPUT_SHAPE)
    stem = conv2d(16, 3, padding="same", activation="relu")(inputs)
    branch = conv2d(16, 3, padding="same", activation="relu")(stem)
    branch = conv2d(16, 3, padding="same")(branch)
    merged = keras.layers.Activation("relu")(keras.layers.Add()([stem, branch]))
    pooled = keras.layers.Flatten()(maxpool2d(2)(maxpool2d(2)(merged)))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled), name=name)


# The models by name: each takes the Conv2D and MaxPooling2D classes to build with.
MODELS = {"documented": documented_model, "wider": wider_model, "residual": residual_model}
