"""`pytest compat`: every case of every section, against keras_cnn_ref's layers and plugin; `suite.quick()`'s in
the quick tier."""

import pytest

from keras_cnn_ref.conformance.harness import Implementation
from keras_cnn_ref.conformance.report import failures_text
from keras_cnn_ref.conformance.suite import quick, run_case, select

OURS = Implementation()  # every layer keras_cnn_ref's
QUICK = {(section.name, case["id"]) for section, case in quick()}


def _marks(section, case) -> list:
    """The quick tier's cases (`suite.quick()`), and the heavy ones: a whole model, or a job of 8 devices."""
    return [
        mark
        for mark, on in (
            (pytest.mark.quick, (section.name, case["id"]) in QUICK),
            (pytest.mark.heavy, case.get("slow")),
        )
        if on
    ]


CASES = [
    pytest.param(section, case, id=f"{section.name}/{case['id']}", marks=_marks(section, case))
    for section, case in select()
]


@pytest.mark.parametrize("section, case", CASES)
def test_case(section, case):
    results = run_case(section, case, OURS)
    assert results and all(result.ok for result in results), failures_text(results)
