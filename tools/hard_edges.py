"""Memory and compile time at the hard edges, ours against built-in's XLA ops, on abstract shapes.

    python tools/hard_edges.py [--rounds 3] [--json docs/data/hard_edges.json]

Each forward and backward pass (the gradients of a sum of squares) is
lowered and compiled, never run: temporary memory is XLA's
`memory_analysis()`, compile time the median of `--rounds` compiles, ours
and XLA's interleaved in one process. Built-in Keras's ops are XLA's
`conv_general_dilated` and `reduce_window`, which these call directly.
`tools/docs_tables.py` renders the docs' table from the JSON.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp
from jax import lax

from keras_cnn_ref import kernels

CONVS = [
    ((1, 512, 512, 32), (7, 7, 32, 32)),
    ((8, 224, 224, 16), (5, 5, 16, 16)),
    ((1, 256, 256, 16), (11, 11, 16, 16)),
    ((32, 56, 56, 64), (3, 3, 64, 64)),
    ((2, 64, 64, 8), (31, 31, 8, 8)),
    ((2, 64, 64, 8), (63, 63, 8, 8)),
]
POOLS = [4, 8, 12, 16, 32]  # max pool windows, stride 1, "same", on 8x64x64x16


def _compiled(f, *shapes):
    """The compiled forward and backward pass, and the seconds its compile took."""
    grad = jax.jit(jax.grad(lambda *a: jnp.sum(f(*a) ** 2), tuple(range(len(shapes)))))
    start = time.perf_counter()
    compiled = grad.lower(*shapes).compile()
    return compiled, time.perf_counter() - start


def _xla_conv(x, kernel):
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _row(name, ours, xla, rounds) -> dict:
    """Median compile seconds of each, interleaved, and each one's temporary MiB."""
    times = {"ours": [], "xla": []}
    memory = {}
    for _ in range(rounds):
        for side, (f, shapes) in (("ours", ours), ("xla", xla)):
            compiled, seconds = _compiled(f, *shapes)
            times[side].append(seconds)
            memory[side] = compiled.memory_analysis().temp_size_in_bytes / 2**20
    row = {
        "case": name,
        "ours_mib": memory["ours"],
        "xla_mib": memory["xla"],
        "ours_compile_s": statistics.median(times["ours"]),
        "xla_compile_s": statistics.median(times["xla"]),
    }
    print(
        f"{name:38} {row['ours_mib']:9.1f} {row['xla_mib']:9.1f} {row['ours_compile_s']:8.2f} "
        f"{row['xla_compile_s']:8.2f}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--json", default=str(pathlib.Path(__file__).resolve().parents[1] / "docs" / "data" / "hard_edges.json")
    )
    options = parser.parse_args()
    print(f"{'fwd+bwd':38} {'ours MiB':>9} {'XLA MiB':>9} {'ours s':>8} {'XLA s':>8}")
    rows = []
    for x_shape, kernel_shape in CONVS:
        shapes = (jax.ShapeDtypeStruct(x_shape, jnp.float32), jax.ShapeDtypeStruct(kernel_shape, jnp.float32))
        name = f"conv {kernel_shape[0]}x{kernel_shape[1]} {kernel_shape[2]}->{kernel_shape[3]} on {'x'.join(map(str, x_shape[:3]))}"
        rows.append(
            _row(name, (lambda x, k: kernels.conv(x, k, padding="same"), shapes), (_xla_conv, shapes), options.rounds)
        )
    shape = (jax.ShapeDtypeStruct((8, 64, 64, 16), jnp.float32),)
    for window in POOLS:

        def xla(x, window=window):
            return lax.reduce_window(x, -jnp.inf, lax.max, (1, window, window, 1), (1, 1, 1, 1), "SAME")

        def ours(x, window=window):
            return kernels.max_pool(x, pool_size=window, strides=1, padding="same")

        rows.append(_row(f"max pool {window}x{window} on 8x64x64x16", (ours, shape), (xla, shape), options.rounds))
    data = {"rounds": options.rounds, "jax": jax.__version__, "device": jax.devices()[0].device_kind, "rows": rows}
    pathlib.Path(options.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(options.json).write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
