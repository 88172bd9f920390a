"""`conv` (and `conv_transpose`) on a sharded batch (and sharded filters), in a process with 8 CPU devices.

`test_plan.py` sends each case by name and reads back what it measured:
the largest gap to the unsharded result, the output's sharding, and the
compiled program's collectives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from keras_cnn_ref._devices import collectives, serve
from keras_cnn_ref.kernels import CPU, Algorithm, Plan, conv, conv_transpose

DEVICES = 8
# x shape, kernel shape, conv arguments, tactics: each case's shape takes another path of the kernel.
CASES = {
    "band": ((64, 28, 28, 1), (3, 3, 1, 4), {}, CPU),
    "im2col-chunked": (
        (64, 13, 13, 32),
        (3, 3, 32, 64),
        {"padding": "same"},
        CPU._replace(chunk_bytes=2 * 13 * 13 * 9 * 32 * 4),
    ),  # two images' columns a step
    "grouped": ((64, 9, 9, 8), (3, 3, 4, 8), {"groups": 2, "strides": 2}, CPU),
    "1d": ((64, 50, 16), (5, 16, 8), {"dilation_rate": 2}, CPU),
    "3d-channels-first": ((16, 4, 6, 8, 8), (3, 3, 3, 4, 8), {"data_format": "channels_first"}, CPU),
    "winograd-chunked": (
        (64, 14, 14, 16),
        (3, 3, 16, 16),
        {"padding": "same"},
        CPU._replace(chunk_bytes=2 * 36 * 16 * (16 + 16) * 4),
    ),  # two images a step
    "winograd-1d-dilated": ((64, 50, 16), (5, 16, 16), {"dilation_rate": 2}, CPU),
    "transposed": ((64, 7, 7, 8), (3, 3, 4, 8), {"strides": 2, "padding": "same"}, CPU),  # kernel (*K, F, C)
    "transposed-im2col": ((16, 14, 14, 32), (3, 3, 16, 32), {"strides": 2, "output_padding": 1}, CPU),
}


def measure(request: dict) -> dict:
    x_shape, kernel_shape, args, tactics = CASES[request["case"]]
    split_filters, sharded_plan = request["filters"], request["sharded_plan"]
    mesh_shape, names = ((2, DEVICES // 2), ("batch", "model")) if split_filters else ((DEVICES,), ("batch",))
    mesh = Mesh(np.array(jax.devices()).reshape(mesh_shape), names)
    rng = np.random.default_rng(0)
    transposed = request["case"].startswith("transposed")
    op = conv_transpose if transposed else conv
    x, kernel, bias = (
        jnp.asarray(rng.standard_normal(shape), jnp.float32)
        for shape in (x_shape, kernel_shape, kernel_shape[-2:-1] if transposed else kernel_shape[-1:])
    )
    policy = Algorithm.MINIMAL_FILTERING if request["case"].startswith("winograd") else None
    plan = Plan(cpu=tactics, accelerator=tactics, policy=policy)
    if sharded_plan:
        plan = plan._replace(mesh=mesh, batch_axes=("batch",), filter_axes=("model",) if split_filters else ())

    def loss(x, kernel, bias, plan):
        out = op(x, kernel, bias=bias, plan=plan, **args)
        return jnp.sum(jnp.sin(out)), out

    step = jax.jit(jax.value_and_grad(loss, (0, 1, 2), has_aux=True), static_argnums=3)
    expected = step(x, kernel, bias, Plan(cpu=tactics, accelerator=tactics, policy=policy))
    filters = "model" if split_filters else None
    placed = (
        jax.device_put(x, NamedSharding(mesh, P("batch"))),
        jax.device_put(kernel, NamedSharding(mesh, P(*(None,) * (kernel.ndim - 1), filters))),
        jax.device_put(bias, NamedSharding(mesh, P(filters))),
    )
    got = step(*placed, plan)
    gaps = [
        float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True)
    ]
    hlo = step.lower(*placed, plan).compile().as_text()
    (_, out), _ = got
    return {
        "gap": max(gaps),
        "out_spec": list(out.sharding.spec),
        "collectives": collectives(hlo),
        "x_bytes": x.nbytes,
        "weight_bytes": kernel.nbytes + bias.nbytes,
    }


if __name__ == "__main__":
    serve(measure, DEVICES)
