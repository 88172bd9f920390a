"""How far does built-in Keras drift from itself, given initial weights one float32 ulp apart?

    python tools/roundoff_growth.py ../shared/data/mnist.npz 3

Trains two built-in copies of the documented model on the same batches (as
`keras-cnn-ref train` does), the second from initial weights moved by one
unit in the last place, and prints the weight gap after each epoch: the
scale of pure float32 round-off growth, to set beside the keras_cnn_ref vs
built-in gap in results.json.
"""

import sys

import numpy as np

from keras_cnn_ref.datasets import load_npz
from keras_cnn_ref.training import TrainConfig, compiled_models, prepare, weight_gap


def main(path: str, epochs: int) -> None:
    config = TrainConfig(epochs=epochs, sides=("builtin",))
    train, _ = load_npz(path)
    x, y = prepare(*train)
    exact, nudged = compiled_models(config)["builtin"], compiled_models(config)["builtin"]
    nudged.set_weights([np.nextafter(w, np.float32(np.inf)) for w in nudged.get_weights()])
    rng = np.random.default_rng(config.seed)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for model in (exact, nudged):
            model.fit(x[order], y[order], batch_size=config.batch_size, shuffle=False, verbose=0)
        print(
            f"after epoch {epoch + 1}: built-in vs built-in one ulp apart, weight gap {weight_gap(exact, nudged):.1e}"
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
