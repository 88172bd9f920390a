"""The suite: its sections, selecting cases, and running them against an implementation."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable

from keras_cnn_ref.compare import Comparison
from keras_cnn_ref.compat.harness import KNOWN, Implementation, keras
from keras_cnn_ref.compat.report import Result, results_from


@dataclasses.dataclass(frozen=True)
class Section:
    """A named table of cases and the function that runs one of them."""

    name: str
    cases: list[dict]
    run: Callable[[dict, Implementation], dict[str, Comparison]]


def known(cases: list[dict]) -> list[dict]:
    """The cases of layers this Keras has (adaptive pooling from Keras 3.13)."""
    return [case for case in cases if case.get("layer", "conv2d") in KNOWN]


def sections() -> list[Section]:
    from keras_cnn_ref.compat import distribution, documented_model, errors, layer_grid, model_level, serialization

    return [
        documented_model.SECTION,
        layer_grid.SECTION,
        layer_grid.EDGE_SECTION,
        serialization.SECTION,
        errors.SECTION,
        model_level.SECTION,
        distribution.SECTION,
    ]


def case_dtype(case: dict) -> str:
    """The dtype a case computes in: its config's policy, float32 by default."""
    return keras.dtype_policies.get(case.get("config", {}).get("dtype", "float32")).compute_dtype


def select(pattern: str | None = None, dtype: str = "all") -> list[tuple[Section, dict]]:
    """Cases whose "section/case" id matches `pattern` (comma-separated globs or
    substrings) and, unless `dtype` is "all", that compute in `dtype`.

    >>> len(select("documented_model/conv2d*,errors/pool-size-0"))
    4
    """
    patterns = [p for p in (pattern or "").split(",") if p]
    chosen = []
    for section in sections():
        for case in section.cases:
            case_id = f"{section.name}/{case['id']}"
            if patterns and not any(fnmatch.fnmatchcase(case_id, p) or p in case_id for p in patterns):
                continue
            if dtype != "all" and case_dtype(case) != dtype:
                continue
            chosen.append((section, case))
    return chosen


def quick(per_section: int = 3) -> list[tuple[Section, dict]]:
    """The cases of the quick tier: all of documented_model, the first layer_grid case of every layer this
    Keras has (from the registry), and `per_section` cases spread evenly over each other section's cases not
    marked "slow"; none of distribution's, each a process of 8 devices (the full tier runs them).

    >>> from keras_cnn_ref.compat.harness import KNOWN
    >>> sum(section.name == "layer_grid" for section, _ in quick()) == len(KNOWN)
    True
    """
    chosen = []
    for section in sections():
        cases = [case for case in section.cases if not case.get("slow")]
        if section.name == "layer_grid":
            cases = list({case["layer"]: case for case in reversed(cases)}.values())[::-1]  # each layer's first
        elif section.name == "distribution":
            cases = []
        elif section.name != "documented_model":
            cases = cases[:: max(1, len(cases) // per_section)][:per_section]
        chosen += [(section, case) for case in cases]
    return chosen


def run_case(section: Section, case: dict, impl: Implementation) -> list[Result]:
    """The case's results; an exception from the implementation is a failing row."""
    try:
        comparisons = section.run(case, impl)
    except Exception as error:
        comparisons = {"raised": Comparison(False, detail=f"{type(error).__name__}: {error_text(error)}")}
    return results_from(section.name, case["id"], comparisons)


def error_text(error: Exception, limit: int = 300) -> str:
    """An exception's message on one line, without Keras's terminal colours."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())
    return text if len(text) <= limit else text[:limit] + "..."


def run_suite(chosen: list[tuple[Section, dict]], impl: Implementation, verbose: int = 0) -> list[Result]:
    """Runs the chosen cases, with Keras's progress bar and the count of failed cases when `verbose`."""
    progress = keras.utils.Progbar(len(chosen), verbose=verbose, stateful_metrics=["failed"], unit_name="case")
    results, failed = [], 0
    for done, (section, case) in enumerate(chosen, 1):
        case_results = run_case(section, case, impl)
        failed += not all(result.ok for result in case_results)
        results += case_results
        if verbose:
            progress.update(done, values=[("failed", Count(failed))])
    return results


class Count(float):
    """A count for Keras's progress bar, printed whole: "failed: 3", where a float prints "failed: 3.0000".

    The bar divides each metric by its number of updates and formats it
    with four decimals; a Count survives the division and ignores the format.

    >>> f"{Count(3) / 1:.4f}"
    '3'
    """

    def __truediv__(self, other) -> Count:
        return Count(float(self) / other)

    def __format__(self, spec: str) -> str:
        return str(int(self))
