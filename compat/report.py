"""Results of the suite, and the table that reports them."""

from __future__ import annotations

import dataclasses
import math

from keras_cnn_ref.compat.compare import Comparison


@dataclasses.dataclass(frozen=True)
class Result:
    """One row of the report: what was compared for which case, and how it came out."""

    section: str
    case: str
    compared: str
    comparison: Comparison

    @property
    def ok(self) -> bool:
        return self.comparison.ok


def results_from(section: str, case: str, comparisons: dict[str, Comparison]) -> list[Result]:
    return [Result(section, case, compared, comparison) for compared, comparison in comparisons.items()]


def _figure(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2e}"


def format_table(results: list[Result]) -> str:
    """A fixed-width table, one block per section.

    >>> from keras_cnn_ref.compat.compare import agree
    >>> print(format_table([Result("model", "conv2d", "params", agree(ours=40, ref=40))]))
    == model
    case    compared  status  max abs  max rel  tolerance  detail
    conv2d  params    ok                                   ours=40 | ref=40
    """
    header = ("case", "compared", "status", "max abs", "max rel", "tolerance", "detail")
    lines = []
    for section in dict.fromkeys(result.section for result in results):
        rows = [header] + [
            (r.case, r.compared, "ok" if r.ok else "FAIL", _figure(r.comparison.max_abs),
             _figure(r.comparison.max_rel), _figure(r.comparison.tolerance), r.comparison.detail)
            for r in results if r.section == section
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines.append(f"== {section}")
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def summary_line(results: list[Result]) -> str:
    """The closing line: 'N passed, M failed'."""
    failed = sum(not result.ok for result in results)
    return f"{len(results) - failed} passed, {failed} failed"
