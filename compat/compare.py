"""Comparing an implementation's arrays with the reference's.

The relative difference is normwise: the largest absolute difference divided
by the largest finite magnitude of the reference. A sum of many terms (what a
convolution computes) can cancel to nearly 0 in places, where an elementwise
relative error means nothing; measured against the output's scale it does.
NaN and +-Inf must stand where the reference has them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# float32 to 1e-5. A 16-bit result is rounded once from a float32
# accumulation, by us and by XLA, so two correct results differ by at most one
# unit in the last place of the largest output: 2**-7 (bfloat16), 2**-10 (float16).
TOLERANCES = {"float32": 1e-5, "bfloat16": 2.0**-7, "float16": 2.0**-10}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The outcome of one comparison: figures, and a `detail` that says why
    one failed (or, for exact checks, what agreed)."""

    ok: bool
    max_abs: float = float("nan")
    max_rel: float = float("nan")
    tolerance: float = float("nan")
    detail: str = ""


def compare(ours, ref, tolerance: float) -> Comparison:
    """Compares `ours` with `ref` within a normwise relative `tolerance`.

    >>> compare(np.ones(3), np.ones(3), 1e-5).ok
    True
    >>> compare(np.ones(2), np.ones(3), 1e-5).detail
    'shape mismatch: ours=(2,) | ref=(3,)'
    """
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        return Comparison(False, detail=f"shape mismatch: ours={ours.shape} | ref={ref.shape}")
    special = ~np.isfinite(ref) | ~np.isfinite(ours)
    same_special = np.where(special, (ours == ref) | (np.isnan(ours) & np.isnan(ref)), True)
    diff = np.abs(np.where(special, 0.0, ours) - np.where(special, 0.0, ref))
    finite_ref = np.abs(ref[np.isfinite(ref)])
    scale = max(finite_ref.max(initial=0.0), np.finfo(np.float64).tiny)
    max_abs = float(diff.max(initial=0.0))
    bad = (diff > tolerance * scale) | ~same_special
    result = Comparison(not bad.any(), max_abs, max_abs / scale, tolerance)
    if result.ok:
        return result
    index = tuple(int(i) for i in np.unravel_index(np.argmax(bad), bad.shape))
    detail = f"first difference at {index}: ours={ours[index]!r} | ref={ref[index]!r}"
    return dataclasses.replace(result, detail=detail)


def agree(**values) -> Comparison:
    """Exact agreement of named values such as shapes and parameter counts.

    >>> agree(ours=40, ref=40, documented=40)
    Comparison(ok=True, max_abs=nan, max_rel=nan, tolerance=nan, detail='ours=40 | ref=40 | documented=40')
    """
    detail = " | ".join(f"{name}={value}" for name, value in values.items())
    return Comparison(len(set(map(repr, values.values()))) == 1, detail=detail)
