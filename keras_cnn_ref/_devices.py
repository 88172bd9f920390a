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
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time
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
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=_device_environment(devices),
        timeout=timeout_s,
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"the {devices}-device process ({module}) failed: {last}")
    return json.loads(done.stdout.splitlines()[-1])


def run_on_processes(module: str, request: dict, processes: int, devices: int, timeout_s: float) -> list[dict]:
    """`python -m module` as `processes` JAX processes of `devices` CPU devices each, one job: their replies.

    The processes find each other through a coordinator on the loopback
    address (`keras.distribution.initialize()` reads Keras's
    `KERAS_DISTRIBUTION_*` variables), and their collectives run over
    gloo. Every process is stopped when one fails or the time is up.

    Raises:
        RuntimeError: a process failed (the message ends with its last line of stderr), or they ran out of time.
    """
    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        logs = [
            (pathlib.Path(folder) / f"{index}.out", pathlib.Path(folder) / f"{index}.err") for index in range(processes)
        ]
        children = []
        for index, (out, err) in enumerate(logs):
            env = {
                **_device_environment(devices),
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": str(processes),
                "KERAS_DISTRIBUTION_PROCESS_ID": str(index),
            }
            with out.open("w") as stdout, err.open("w") as stderr:  # files: a full pipe would stall a collective
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-m", module],
                        stdin=subprocess.PIPE,
                        stdout=stdout,
                        stderr=stderr,
                        text=True,
                        env=env,
                    )
                )
        for child in children:  # every process has its request before any waits on another
            child.stdin.write(json.dumps(request))
            child.stdin.close()
        _wait_for_all(children, timeout_s)
        if failed := [index for index, child in enumerate(children) if child.returncode]:
            index = next((index for index in failed if children[index].returncode > 0), failed[0])  # not one we stopped
            if children[index].returncode < 0:
                raise RuntimeError(f"the {processes} processes of {module} ran past {timeout_s:.0f} s")
            said = [line for line in logs[index][1].read_text().splitlines() if not line.startswith("[Gloo]")]
            raise RuntimeError(f"process {index} of {processes} ({module}) failed: {(said or ['(no output)'])[-1]}")
        return [json.loads(out.read_text().splitlines()[-1]) for out, _ in logs]


def _wait_for_all(children: list[subprocess.Popen], timeout_s: float) -> None:
    """Waits until every child has exited, one has failed (the others would wait on it forever) or time is up;
    then stops those still running."""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not any(child.poll() for child in children):
            if all(child.poll() is not None for child in children):
                return
            time.sleep(0.2)
    finally:
        for child in children:
            child.kill()
            child.wait()


def _device_environment(devices: int) -> dict[str, str]:
    """This environment, for a child whose JAX starts with `devices` CPU devices on Keras's JAX backend."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    return {
        **os.environ,
        "XLA_FLAGS": flags,
        "JAX_PLATFORMS": "cpu",
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join(path or os.getcwd() for path in sys.path),
    }


def serve(handle: Callable[[dict], dict], devices: int) -> None:
    """The child's side: checks the device count, then answers the request on stdin."""
    import jax

    if jax.local_device_count() != devices:
        raise RuntimeError(
            f"expected {devices} devices (XLA_FLAGS). Received: jax.local_device_count()={jax.local_device_count()}"
        )
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
