"""Running a module in a fresh process whose JAX has several CPU devices, simulated by XLA.

JAX fixes its device count when it starts, so a measurement on 8 devices
from a process that has 1 runs in a child process:
`--xla_force_host_platform_device_count` set before JAX starts there. The
request and the reply travel as JSON (stdin, and stdout's last line).
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable

_COLLECTIVE = re.compile(
    r"= (\([^)]*\)|\S+) (all-reduce|all-gather|all-to-all|collective-permute|reduce-scatter)"
    r"(?:-start)?\("
)
_ARRAY = re.compile(r"\b([a-z]+\d*)\[([\d,]*)\]")
_ITEMSIZES = {
    "pred": 1,
    "s8": 1,
    "u8": 1,
    "f16": 2,
    "bf16": 2,
    "s16": 2,
    "u16": 2,
    "f32": 4,
    "s32": 4,
    "u32": 4,
    "f64": 8,
    "s64": 8,
    "u64": 8,
}


def run_on_devices(module: str, request: dict, devices: int, timeout_s: float) -> dict:
    """`python -m module` on `devices` CPU devices, given `request`: its reply.

    Raises:
        RuntimeError: the child failed; the message ends with its last line of stderr.
    """
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    env = {
        **os.environ,
        "XLA_FLAGS": flags,
        "JAX_PLATFORMS": "cpu",
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join(path or os.getcwd() for path in sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"the {devices}-device process ({module}) failed: {last}")
    return json.loads(done.stdout.splitlines()[-1])


def serve(handle: Callable[[dict], dict], devices: int) -> None:
    """The child's side: checks the device count, then answers the request on stdin."""
    import jax

    if jax.device_count() != devices:
        raise RuntimeError(f"expected {devices} devices (XLA_FLAGS). Received: jax.device_count()={jax.device_count()}")
    print(json.dumps(handle(json.load(sys.stdin))))


def collectives(hlo: str) -> dict[str, list[tuple[str, int]]]:
    """Every collective of a compiled HLO module (`compiled.as_text()`), by kind: `(shape, bytes)` per op.

    Layouts are dropped, and a tuple-shaped op (XLA combines gradient
    all-reduces into one) lists its arrays.

    >>> collectives("%x = f32[8,4]{1,0} all-gather(f32[1,4]{1,0} %y)")["all-gather"]
    [('f32[8,4]', 128)]
    """
    found = collections.defaultdict(list)
    for shape, kind in _COLLECTIVE.findall(hlo):
        arrays = _ARRAY.findall(shape)
        size = sum(_ITEMSIZES[dtype] * math.prod(int(d) for d in dims.split(",") if d) for dtype, dims in arrays)
        found[kind].append((" ".join(f"{dtype}[{dims}]" for dtype, dims in arrays), size))
    return found
