"""The suite: its sections, selecting cases, and running them against an implementation."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable

from keras_cnn_ref.compare import Comparison
from keras_cnn_ref.conformance.harness import KNOWN, Implementation, keras
from keras_cnn_ref.conformance.report import Result, results_from


@dataclasses.dataclass(frozen=True)
class Section:
    """A named table of cases and the function that runs one of them."""

    name: str
    cases: list[dict]
    run: Callable[[dict, Implementation], dict[str, Comparison]]
    lacking: list[dict] = dataclasses.field(default_factory=list)  # cases of layers this Keras lacks

    @classmethod
    def for_this_keras(cls, name: str, cases: list[dict], run: Callable) -> Section:
        """The section of `cases`, those of layers this Keras lacks (adaptive pooling before 3.13) set aside."""
        has = [case.get("layer", "conv2d") in KNOWN for case in cases]
        return cls(name, [c for c, h in zip(cases, has) if h], run, [c for c, h in zip(cases, has) if not h])


def lacking(pattern: str) -> list[str]:
    """The layers, by key, that this Keras lacks and whose cases `pattern` would select."""
    patterns = [p.rstrip("/") for p in pattern.split(",") if p]
    return sorted(
        {
            case["layer"]
            for section in sections()
            for case in section.lacking
            if any(matches(f"{section.name}/{case['id']}", p) for p in patterns)
        }
    )


def sections() -> list[Section]:
    from keras_cnn_ref.conformance import distribution, documented_model, errors, layer_grid, model_level, serialization

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


def matches(case_id: str, pattern: str) -> bool:
    """Whether `pattern`, a glob, matches the "section/case" id whole, or its section whole.

    >>> [matches("layer_grid/conv2d-same", p) for p in ("layer_grid", "layer_grid/conv2d", "layer_grid/conv2d-*", "*/*-same")]
    [True, False, True, True]
    >>> matches("layer_grid/conv2dtranspose-same", "layer_grid/conv2d*"), matches("documented_model/conv2d_1", "documented_model/conv2d")
    (True, False)
    """
    section = case_id.partition("/")[0]
    return fnmatch.fnmatchcase(case_id, pattern) or fnmatch.fnmatchcase(section, pattern)


def select(pattern: str | None = None, dtype: str = "all") -> list[tuple[Section, dict]]:
    """Cases whose "section/case" id matches one of `pattern`'s comma-separated globs (`matches`) and, unless
    `dtype` is "all", that compute in `dtype`.

    >>> len(select("documented_model/conv2d*,errors/pool-size-0"))
    4
    """
    patterns = [p.rstrip("/") for p in (pattern or "").split(",") if p]
    chosen = []
    for section in sections():
        for case in section.cases:
            if patterns and not any(matches(f"{section.name}/{case['id']}", p) for p in patterns):
                continue
            if dtype != "all" and case_dtype(case) != dtype:
                continue
            chosen.append((section, case))
    return chosen


def quick(per_section: int = 3) -> list[tuple[Section, dict]]:
    """The cases of the quick tier: all of documented_model, the first layer_grid case of every layer this
    Keras has (from the registry), and `per_section` cases spread evenly over each other section's cases not
    marked "slow"; none of distribution's, each a process of 8 devices (the full tier runs them).

    >>> from keras_cnn_ref.conformance.harness import KNOWN
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
    """Runs the chosen cases, with Keras's progress bar and its counts of failed cases when `verbose`.

    A case that fails after a case it `follows` failed (a later layer of the
    same model) is that one's consequence: its results name it as their
    `cause`, and it counts apart ("failed after").
    """
    metrics = ["failed cases", "failed after"]
    progress = keras.utils.Progbar(len(chosen), verbose=verbose, stateful_metrics=metrics, unit_name="case")
    results, causes, after = [], [], 0
    for done, (section, case) in enumerate(chosen, 1):
        case_results = run_case(section, case, impl)
        if not all(result.ok for result in case_results):
            follows = {f"{section.name}/{earlier}" for earlier in case.get("follows", ())}
            if cause := next((earlier for earlier in causes if earlier in follows), None):
                case_results = [dataclasses.replace(result, cause=cause) for result in case_results]
                after += 1
            else:
                causes.append(f"{section.name}/{case['id']}")
        results += case_results
        if verbose:
            progress.update(done, values=list(zip(metrics, (Count(len(causes)), Count(after)))))
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
