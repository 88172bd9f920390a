"""Exports a trained MNIST model's inference under the plugin, with a symbolic batch, to a file JAX alone serves.

    python examples/export_mnist.py DIR

trains the documented model, built from Keras's own layers, for one epoch
on the bundled MNIST sample; exports its inference function with
`jax.export` while `keras_cnn_ref.plugin` is on, so the program holds
keras_cnn_ref's kernels and no XLA convolution or window reduction; and
writes to DIR:

- `mnist.jax-export`: the program, weights included (`Exported.serialize()`,
  which needs flatbuffers: `pip install '.[serve]'`);
- `reference.npz`: test images, and built-in Keras's own predictions for
  them, made without the plugin.

`python examples/serve_exported.py DIR` then serves it in a process that
imports neither keras_cnn_ref nor Keras.
"""

import pathlib
import sys

import jax
import numpy as np
from jax import export

from keras_cnn_ref import plugin
from keras_cnn_ref.datasets import load_mnist
from keras_cnn_ref.models import documented_model, keras  # Keras, imported on its JAX backend
from keras_cnn_ref.training import prepare

XLA_WINDOW_OPS = ("stablehlo.convolution", "stablehlo.reduce_window", "stablehlo.select_and_scatter")


def main(out: pathlib.Path) -> None:
    (train, test), _ = load_mnist(download=False)  # the bundled sample; a path or Keras's download in real use
    (x, y), (x_test, _) = prepare(*train), prepare(*test)
    model = documented_model(keras.layers.Conv2D, keras.layers.MaxPooling2D)  # Keras's own layers
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def infer(images: jax.Array) -> jax.Array:  # (batch, 28, 28, 1) -> (batch, 10)
        return model.stateless_call(trainable, non_trainable, images)[0]

    (batch,) = export.symbolic_shape("batch")
    with plugin.enabled():  # traced now, so on keras_cnn_ref's kernels
        exported = export.export(jax.jit(infer))(jax.ShapeDtypeStruct((batch, 28, 28, 1), np.float32))
    program = exported.mlir_module()
    assert not [op for op in XLA_WINDOW_OPS if op in program], "the plugin left an XLA window op in the program"
    out.mkdir(parents=True, exist_ok=True)
    (out / "mnist.jax-export").write_bytes(exported.serialize())
    np.savez(out / "reference.npz", images=x_test[:64], builtin=model.predict(x_test[:64], verbose=0))
    print(f"exported {exported.in_avals[0].str_short()} -> {exported.out_avals[0].str_short()} to {out}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
