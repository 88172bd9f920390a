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


def compare(tested, expected, tolerance: float, names: tuple[str, str] = ("tested", "builtin")) -> Comparison:
    """Compares `tested` with `expected` within a normwise relative `tolerance`.

    A failure's detail shows both values, labelled by `names`.

    >>> compare(np.ones(3), np.ones(3), 1e-5).ok
    True
    >>> compare(np.ones(2), np.ones(3), 1e-5).detail
    'shape mismatch: tested=(2,) | builtin=(3,)'
    >>> compare(np.float32([1, 2.3511379]), np.float32([1, 2.35]), 1e-5).detail
    'first difference at (1,): tested=2.3511379 | builtin=2.35'
    """
    tested_name, expected_name = names
    shown = np.asarray(tested), np.asarray(expected)
    tested, expected = (np.asarray(array, np.float64) for array in shown)
    if tested.shape != expected.shape:
        detail = f"shape mismatch: {tested_name}={tested.shape} | {expected_name}={expected.shape}"
        return Comparison(False, detail=detail)
    special = ~np.isfinite(expected) | ~np.isfinite(tested)
    same_special = np.where(special, (tested == expected) | (np.isnan(tested) & np.isnan(expected)), True)
    diff = np.abs(np.where(special, 0.0, tested) - np.where(special, 0.0, expected))
    finite_expected = np.abs(expected[np.isfinite(expected)])
    scale = max(finite_expected.max(initial=0.0), np.finfo(np.float64).tiny)
    max_abs = float(diff.max(initial=0.0))
    bad = (diff > tolerance * scale) | ~same_special
    result = Comparison(not bad.any(), max_abs, max_abs / scale, tolerance)
    if result.ok:
        return result
    index = tuple(int(i) for i in np.unravel_index(np.argmax(bad), bad.shape))
    # Each value as its own dtype prints it: 2.3511379 for a float32, not np.float64(2.351137876510620).
    values = " | ".join(f"{name}={array[index]!s}" for name, array in zip(names, shown))
    return dataclasses.replace(result, detail=f"first difference at {index}: {values}")


def agree(**values) -> Comparison:
    """Exact agreement of named values such as shapes and parameter counts.

    >>> agree(tested=40, builtin=40, documented=40)
    Comparison(ok=True, max_abs=nan, max_rel=nan, tolerance=nan, detail='tested=40 | builtin=40 | documented=40')
    """
    detail = " | ".join(f"{name}={value}" for name, value in values.items())
    return Comparison(len(set(map(repr, values.values()))) == 1, detail=detail)
