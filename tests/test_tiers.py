"""The quick tier (`pytest`, the README's test command) still reaches what it promises.

Every layer this Keras has, every algorithm, every op the plugin routes,
the runner catching a planted defect, and every document's code blocks:
each proven from the registry, the algorithm enumeration, the plugin's ops
and the documents themselves, against the test ids the quick tier collects.
"""

import pathlib
import re
import subprocess
import sys

import keras
import pytest

from keras_cnn_ref import plugin
from keras_cnn_ref._registry import available
from keras_cnn_ref.conformance.suite import select
from keras_cnn_ref.kernels import Algorithm
from keras_cnn_ref.layers._backend import minor_version
from tests.doc_blocks import DOCUMENTS

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.quick


@pytest.fixture(scope="module")
def quick_ids() -> list[str]:
    """The node ids `pytest` (no --full) collects."""
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ids = [line for line in listed.stdout.splitlines() if "::" in line]
    assert listed.returncode == 0 and ids, listed.stdout[-2000:] + listed.stderr[-2000:]
    return ids


def _parameters(ids: list[str], prefix: str) -> list[str]:
    """The bracketed parameters of the ids under `prefix`."""
    return [found.group(1) for node in ids if node.startswith(prefix) and (found := re.search(r"\[(.*)\]$", node))]


def test_every_layer_this_keras_has_runs_a_quick_conformance_case(quick_ids):
    cases = {f"{section.name}/{case['id']}": case for section, case in select()}
    quick = {
        cases[case_id].get("layer")
        for case_id in _parameters(quick_ids, "compat/test_suite.py::test_case")
        if case_id.startswith("layer_grid/")
    }
    assert set(available(minor_version(keras.__version__))) <= quick


def test_every_algorithm_runs_against_the_float64_reference(quick_ids):
    named = {
        parameter.split("-")[0]
        for parameter in _parameters(
            quick_ids, "tests/kernels/test_choice.py::test_each_named_algorithm_matches_the_float64_reference"
        )
    }
    assert {algorithm.value for algorithm in Algorithm} <= named


def test_every_routed_op_runs_against_keras_own(quick_ids):
    from keras.src.backend.jax import nn

    tested = _parameters(quick_ids, "tests/test_plugin.py::test_routed_ops_match_keras_own_while_xla_refuses")
    missing = [op for op in plugin._routed(nn) if not any(case.startswith(op.replace("_", "-")) for case in tested)]
    assert not missing


def test_the_runner_catches_a_planted_defect(quick_ids):
    assert _parameters(
        quick_ids, "tests/conformance/test_runner.py::test_each_planted_defect_exits_non_zero_and_names_its_case"
    )


def test_every_document_with_code_blocks_runs_them(quick_ids):
    documents = [
        path
        for pattern in DOCUMENTS
        for path in sorted(ROOT.glob(pattern))
        if re.search(r"^```(python|bash)$", path.read_text(), re.M)
    ]
    assert (
        documents
        and [
            path
            for path in documents
            if not any(node.startswith(f"{path.relative_to(ROOT).as_posix()}::") for node in quick_ids)
        ]
        == []
    )
