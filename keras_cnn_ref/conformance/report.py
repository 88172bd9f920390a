"""Results of the suite, and the table that reports them."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ElementTree

from keras_cnn_ref.compare import Comparison


@dataclasses.dataclass(frozen=True)
class Result:
    """One row of the report: what was compared for which case, and how it came out."""

    section: str
    case: str
    compared: str
    comparison: Comparison
    cause: str | None = None  # the earlier failing case ("section/case") whose failure this case's follows from

    @property
    def ok(self) -> bool:
        return self.comparison.ok

    @property
    def case_id(self) -> str:
        return f"{self.section}/{self.case}"


def results_from(section: str, case: str, comparisons: dict[str, Comparison], cause: str | None = None) -> list[Result]:
    return [Result(section, case, compared, comparison, cause) for compared, comparison in comparisons.items()]


def case_counts(results: list[Result]) -> tuple[int, int, int]:
    """Cases passed, cases failed of their own, and cases that failed after an earlier one (its consequences)."""
    cases: dict[str, Result | None] = {}
    for r in results:
        cases.setdefault(r.case_id, None)
        if not r.ok:
            cases[r.case_id] = cases[r.case_id] or r
    failed = [r for r in cases.values() if r is not None]
    consequences = sum(r.cause is not None for r in failed)
    return len(cases) - len(failed), len(failed) - consequences, consequences


def _figure(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2e}"


def format_table(results: list[Result]) -> str:
    """A fixed-width table, one block per section.

    >>> from keras_cnn_ref.compare import agree
    >>> print(format_table([Result("model", "conv2d", "params", agree(tested=40, builtin=40))]))
    == model
    case    compared  status  max abs  max rel  tolerance  detail
    conv2d  params    ok                                   tested=40 | builtin=40
    """
    header = ("case", "compared", "status", "max abs", "max rel", "tolerance", "detail")
    lines = []
    for section in dict.fromkeys(result.section for result in results):
        rows = [header] + [
            (
                r.case,
                r.compared,
                "ok" if r.ok else "after" if r.cause else "FAIL",
                _figure(r.comparison.max_abs),
                _figure(r.comparison.max_rel),
                _figure(r.comparison.tolerance),
                r.comparison.detail,
            )
            for r in results
            if r.section == section
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines.append(f"== {section}")
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def header(given: dict[str, str], versions: dict[str, str]) -> str:
    """The report's first line: what "tested" and "builtin" stand for in the rows below.

    `given` maps the layers given to the runner (`conv2d`, ...) to their MODULE:CLASS.

    >>> versions = {"plan": "exact", "keras_cnn_ref": "0.1.0", "keras": "3.15.1", "jax": "0.10.2", "device": "TFRT_CPU_0"}
    >>> print(header({"conv2d": "mymod:MyConv2D"}, versions))
    tested: mymod:MyConv2D (--conv2d), and keras_cnn_ref 0.1.0's other layers and plugin (plan: exact) | builtin: Keras 3.15.1 on JAX 0.10.2 (TFRT_CPU_0)
    """
    ours = f"keras_cnn_ref {versions['keras_cnn_ref']}'s"
    tested = ", ".join(f"{spec} (--{name})" for name, spec in given.items())
    tested = f"{tested}, and {ours} other layers and plugin" if given else f"{ours} layers and plugin"
    tested += f" (plan: {versions['plan']})"
    return f"tested: {tested} | builtin: Keras {versions['keras']} on JAX {versions['jax']} ({versions['device']})"


def summary_line(results: list[Result], plan: str = "exact") -> str:
    """The closing line, in cases, as the progress bar counts: passed, failed, failed after an earlier failure;
    then the comparisons; and under another plan than exact, which cases deviate.

    Under `fast`, minimal filtering's round-off differs from built-in's by
    place, so where a max pool meets a tie its gradient goes elsewhere, and
    a training comparison parts by more than round-off: reported, not hidden.

    >>> from keras_cnn_ref.compare import Comparison
    >>> print(summary_line([Result("m", "conv", "output", Comparison(False)), Result("m", "dense", "output",
    ...     Comparison(False), cause="m/conv"), Result("m", "pool", "output", Comparison(True))]))
    cases: 1 passed, 1 failed, 1 more failed after it (3 comparisons, 2 failed)
    """
    passed, failed, after = case_counts(results)
    line = f"cases: {passed} passed, {failed} failed"
    if after:
        line += f", {after} more failed after {'it' if failed == 1 else 'them'}"
    line += f" ({len(results)} comparisons, {sum(not r.ok for r in results)} failed)"
    deviating = sorted({r.case_id for r in results if not r.ok})
    if plan != "exact" and deviating:
        line += f"; under the {plan} plan these cases deviate from built-in: {', '.join(deviating)}"
    return line


def failures_text(results: list[Result], consequences: bool = False) -> str:
    """One line per failing comparison: section/case, what, and why. A case that failed after an earlier one
    (its `cause`) is one line under its cause, or with `consequences` every comparison of it too."""
    lines, after = [], {}
    for r in results:
        if r.cause and not r.ok:
            after.setdefault(r.cause, {}).setdefault(r.case, []).append(r)
    for r in results:
        if not r.ok and (consequences or not r.cause):
            lines.append(
                f"FAILED {r.case_id} [{r.compared}]: {r.comparison.detail}" + (f" (after {r.cause})" if r.cause else "")
            )
    for cause, cases in after.items():
        if not consequences:
            lines.append(
                f"AFTER {cause}: {len(cases)} later cases fail too, likely its consequences: {', '.join(cases)} "
                "(--all-failures lists them)"
            )
    return "\n".join(lines)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def to_json(results: list[Result], implementation: dict, versions: dict) -> dict:
    """Every comparison with its figures, and a summary."""
    rows = [
        {
            "section": r.section,
            "case": r.case,
            "compared": r.compared,
            "ok": r.ok,
            "max_abs": _number(r.comparison.max_abs),
            "max_rel": _number(r.comparison.max_rel),
            "tolerance": _number(r.comparison.tolerance),
            "detail": r.comparison.detail,
            "after": r.cause,
        }
        for r in results
    ]
    failed = sum(not r.ok for r in results)
    passed_cases, failed_own, failed_after = case_counts(results)
    summary = {
        "comparisons": len(results),
        "passed": len(results) - failed,
        "failed": failed,
        "cases": passed_cases + failed_own + failed_after,
        "cases_failed": failed_own,
        "cases_failed_after": failed_after,
        "failed_cases": sorted({r.case_id for r in results if not r.ok}),
        "ok": not failed,
        "implementation": implementation,
        "versions": versions,
    }
    return {"summary": summary, "results": rows}


def write_json(path: str, report: dict) -> None:
    with open(path, "w") as file:
        json.dump(report, file, indent=1)


def write_junit(path: str, results: list[Result]) -> None:
    """JUnit XML: a test suite per section, a test case per case and comparison."""
    root = ElementTree.Element("testsuites", name="keras-cnn-ref check")
    for section in dict.fromkeys(r.section for r in results):
        rows = [r for r in results if r.section == section]
        suite = ElementTree.SubElement(
            root, "testsuite", name=section, tests=str(len(rows)), failures=str(sum(not r.ok for r in rows))
        )
        for r in rows:
            case = ElementTree.SubElement(suite, "testcase", classname=section, name=f"{r.case} [{r.compared}]")
            if not r.ok:
                ElementTree.SubElement(case, "failure", message=r.comparison.detail or "failed")
    ElementTree.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)
