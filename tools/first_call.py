"""The first call of a jitted forward pass of keras.applications models: built-in Keras against the plugin.

    python tools/first_call.py [--models VGG19,InceptionV3] [--rounds 2] [--batch 1] [--plan exact] [--json PATH]

Each measurement runs in a fresh Python process, so no compiled program or
trace is shared: the model is built (`weights=None`, its default input
size), one call of `jax.jit` of its `stateless_call` is timed (trace,
compile and run), then a second (run only). Built-in and plugin alternate,
model by model, round by round. Printed: each side's median seconds and the
median of the rounds' plugin/built-in ratios (the issue's target: at most 2x).
`--json` writes them, as `docs/data/first_call.json` (docs/performance.md's table).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

MODELS = ("VGG19", "ResNet50", "InceptionV3", "MobileNetV2", "NASNetMobile", "EfficientNetB0", "ConvNeXtTiny")

# One measurement, in the fresh process: `python -c CHILD model batch plugin`.
CHILD = """
import json, os, sys, time
os.environ["KERAS_BACKEND"] = "jax"
import jax, keras, numpy as np
name, batch, plugin = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
model = getattr(keras.applications, name)(weights=None)
x = np.random.default_rng(0).standard_normal((batch, *model.input_shape[1:])).astype("float32")
weights = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])
def forward(trainable, non_trainable, x):
    return model.stateless_call(trainable, non_trainable, x, training=False)[0]
if plugin:
    from keras_cnn_ref import plugin as p
    p.enable()
run = jax.jit(forward)
start = time.perf_counter()
jax.block_until_ready(run(*weights, x))
first = time.perf_counter() - start
start = time.perf_counter()
jax.block_until_ready(run(*weights, x))
print(json.dumps({"first_s": first, "second_s": time.perf_counter() - start}))
"""


def measure(model: str, batch: int, plugin: bool) -> dict:
    """One fresh process's first and second call of the model's jitted forward pass."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, model, str(batch), "1" if plugin else "0"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated keras.applications names")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--plan", default=None, help="the policy the plugin's kernels run under (default: exact)")
    parser.add_argument("--json", metavar="PATH", help="write the medians as JSON")
    args = parser.parse_args()
    if args.plan:
        os.environ["KERAS_CNN_REF_POLICY"] = args.plan
    import jax
    import keras

    print(
        f"{'model':16} {'built-in s':>10} {'plugin s':>10} {'ratio':>6}   (first call; second call built-in / plugin)"
    )
    rows = []
    for model in args.models.split(","):
        runs = [(measure(model, args.batch, False), measure(model, args.batch, True)) for _ in range(args.rounds)]
        row = {
            "model": model,
            "builtin_first_s": statistics.median(b["first_s"] for b, _ in runs),
            "plugin_first_s": statistics.median(o["first_s"] for _, o in runs),
            "ratio": statistics.median(o["first_s"] / b["first_s"] for b, o in runs),
            "builtin_second_s": statistics.median(b["second_s"] for b, _ in runs),
            "plugin_second_s": statistics.median(o["second_s"] for _, o in runs),
        }
        rows.append(row)
        print(
            f"{model:16} {row['builtin_first_s']:10.2f} {row['plugin_first_s']:10.2f} {row['ratio']:5.2f}x   "
            f"({row['builtin_second_s']:.3f} / {row['plugin_second_s']:.3f} s)",
            flush=True,
        )
    if args.json:
        environment = {"jax": jax.__version__, "keras": keras.__version__, "device": jax.devices()[0].device_kind}
        meta = {"batch": args.batch, "rounds": args.rounds, "plan": args.plan or "exact", **environment}
        pathlib.Path(args.json).write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
