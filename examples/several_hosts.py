"""The DataParallel example as one job of several processes: start one on every host.

    KERAS_DISTRIBUTION_JOB_ADDRESSES=HOST:PORT KERAS_DISTRIBUTION_NUM_PROCESSES=N KERAS_DISTRIBUTION_PROCESS_ID=I \\
        python examples/several_hosts.py

`keras.distribution.initialize()` reads the coordinator's address (process
0's host), the number of processes and this one's id from those variables,
and calls `jax.distributed.initialize`. Then `jax.devices()`, and so
`DataParallel()`, span every process's devices, and each process feeds its
own share of every batch. The docs' "More than one device" page starts two
such processes on one machine, with 4 CPU devices each.
"""

import jax

from keras_cnn_ref.datasets import load_mnist
from keras_cnn_ref.models import keras, wider_model  # Keras, imported on its JAX backend
from keras_cnn_ref.training import WaitForEachStep, prepare

BATCH, IMAGES = 128, 2048  # the global batch, and the images of one epoch

keras.distribution.initialize()  # before anything else touches JAX's devices
# The batch split over every process's devices; each process feeds its own share, so Keras need not shard the data.
keras.distribution.set_distribution(keras.distribution.DataParallel(auto_shard_dataset=False))
(train, _), _ = load_mnist(download=False)  # the bundled sample; a path or Keras's download in real use
x, y = prepare(*train)
share = slice(jax.process_index(), IMAGES, jax.process_count())  # this process's rows: its part of each batch
model = wider_model()  # keras_cnn_ref's Conv2D and MaxPooling2D: 32 and 64 filters
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
history = model.fit(
    x[share], y[share], batch_size=BATCH // jax.process_count(), epochs=1, verbose=0, callbacks=[WaitForEachStep()]
)
print(
    f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} of {jax.device_count()} "
    f"devices; loss {history.history['loss'][-1]:.3f}"
)
