"""`pytest compat`: every case of every section, against keras_cnn_ref's layers and plugin."""

import pytest

from keras_cnn_ref.compat.harness import Implementation
from keras_cnn_ref.compat.report import failures_text
from keras_cnn_ref.compat.suite import run_case, select, smoke

OURS = Implementation()  # every layer keras_cnn_ref's
SMOKE = {(section.name, case["id"]) for section, case in smoke()}
CASES = [
    pytest.param(section, case, id=f"{section.name}/{case['id']}",
                 marks=[mark for mark, on in ((pytest.mark.slow, case.get("slow")),
                                              (pytest.mark.smoke, (section.name, case["id"]) in SMOKE)) if on])
    for section, case in select()
]


@pytest.mark.parametrize("section, case", CASES)
def test_case(section, case):
    results = run_case(section, case, OURS)
    assert results and all(result.ok for result in results), failures_text(results)
