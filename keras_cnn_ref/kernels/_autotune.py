"""Tuning by measurement, opt-in (`set_policy(..., autotune=True)`), as cuDNN's benchmark mode does.

The first call of each correlation (its shapes, dtypes, geometry, tactics
and policy, on this platform and device, under this JAX) times every
algorithm the policy allows on random operands of its shapes, forward and
backward, and keeps the one of least cost: its run time plus
`COMPILE_WEIGHT` of its compile time. The choice goes to a JSON file, so
later processes reuse it without timing; the same file gives the same
algorithm, and so the same bits. The key holds the JAX version and the
device, so another of either times afresh.

The file is `$KERAS_CNN_REF_AUTOTUNE_CACHE` when the policy is set, or `autotune.json` under
`$XDG_CACHE_HOME/keras_cnn_ref` (`~/.cache/keras_cnn_ref`). One that cannot
be read or written gives a warning, and the chooser's own pick runs: it
never fails the call.
"""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import numpy as np

if TYPE_CHECKING:
    from ._choice import Choice
    from .plan import Policy, Tactics

COMPILE_WEIGHT = 0.01  # a compile is paid once; weighed as if over a hundred calls
RUNS = 3


def cache_path() -> pathlib.Path:
    """Where the choices are kept (`$KERAS_CNN_REF_AUTOTUNE_CACHE`, else the user's cache folder)."""
    if path := os.environ.get("KERAS_CNN_REF_AUTOTUNE_CACHE"):
        return pathlib.Path(path)
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "keras_cnn_ref" / "autotune.json"


def key(shapes: tuple, tactics: Tactics, dtypes: tuple, policy: Policy) -> str:
    """The cache key: the correlation, the policy, and where and under which JAX it runs."""
    padded_shape, kernel_shape, geometry = shapes
    device = jax.devices()[0]
    return json.dumps(
        [
            jax.__version__,
            device.platform,
            device.device_kind,
            policy.value,
            [list(padded_shape), list(kernel_shape), [list(v) if isinstance(v, tuple) else v for v in geometry]],
            [str(np.dtype(dtype)) for dtype in dtypes],
            list(tactics),
        ]
    )


def tuned(
    candidates: Sequence[Choice], default: Choice, shapes: tuple, dtypes: tuple, policy: Policy, path: str
) -> Choice:
    """The candidate cached in the file `path` for this correlation, or the one timed fastest now (and
    cached); `default` where the cache cannot be read or written."""
    if len(candidates) < 2:
        return default
    path, entry = pathlib.Path(path), key(shapes, default.tactics, dtypes, policy)
    entries = _read(path)
    by_name = {choice.algorithm.value: choice for choice in candidates}
    if entries is None:
        return default
    if entries.get(entry) in by_name:
        return by_name[entries[entry]]
    if reason := _unwritable(path):
        _warn(f"cannot write the autotune cache {path} ({reason})")
        return default
    costs = {name: _cost(choice, shapes, dtypes) for name, choice in by_name.items()}
    best = min(costs, key=costs.get)
    try:
        _write(path, {**(_read(path) or {}), entry: best})
    except OSError as error:
        _warn(f"cannot write the autotune cache {path} ({error.strerror or error})")
        return default
    return by_name[best]


def _read(path: pathlib.Path) -> dict | None:
    """The cache's entries: {} when there is no file, None (and a warning) when it cannot be read."""
    try:
        text = path.read_text() if path.exists() else ""
        entries = json.loads(text) if text.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        _warn(f"cannot read the autotune cache {path} ({error})")
        return None
    if not isinstance(entries, dict):
        _warn(f"the autotune cache {path} is not a JSON object of choices")
        return None
    return entries


def _warn(problem: str) -> None:
    warnings.warn(f"keras_cnn_ref: {problem}; choosing by shape instead.", UserWarning, stacklevel=3)


def _unwritable(path: pathlib.Path) -> str | None:
    """Why the cache cannot be written, found by trying (permissions alone do not bind every user), or None."""
    try:
        if path.exists():
            with open(path, "r+"):
                pass
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path.parent):
                pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def _write(path: pathlib.Path, entries: dict) -> None:
    """Replaces the file whole, so that a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as file:
        json.dump(entries, file, indent=0, sort_keys=True)
    os.replace(file.name, path)


def _cost(choice: Choice, shapes: tuple, dtypes: tuple) -> float:
    """Seconds: the median of `RUNS` forward and backward passes, plus `COMPILE_WEIGHT` of the compile."""
    from ._correlate import _backward, _forward  # the correlation itself, with this algorithm named

    padded_shape, kernel_shape, geometry = shapes
    out_dtype = dtypes[1]
    named = {
        "pads": ((0, 0),) * len(geometry.window),
        "geometry": geometry,
        "tactics": choice.tactics,
        "policy": choice.algorithm,
        "autotune": False,
    }

    def step(x, kernel, out_grad):
        return _forward(x, kernel, None, **named), _backward(x, kernel, out_grad, **named)

    rng = np.random.default_rng(0)
    out_shape = (padded_shape[0], *geometry.out_spatial, kernel_shape[-1])
    operands = [rng.standard_normal(shape).astype(out_dtype) for shape in (padded_shape, kernel_shape, out_shape)]
    with jax.ensure_compile_time_eval():
        start = time.perf_counter()
        compiled = jax.jit(step).lower(*operands).compile()
        compile_s = time.perf_counter() - start
        jax.block_until_ready(compiled(*operands))
        runs = []
        for _ in range(RUNS):
            start = time.perf_counter()
            jax.block_until_ready(compiled(*operands))
            runs.append(time.perf_counter() - start)
    return statistics.median(runs) + COMPILE_WEIGHT * compile_s
