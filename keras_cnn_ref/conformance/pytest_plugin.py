"""The conformance cases as tests of your own pytest suite: a `pytest11` plugin, installed with keras-cnn-ref.

It does nothing until one of its options is given:

    pytest --keras-cnn-ref conv2d=my_layers:Conv2D --keras-cnn-ref-select "edge_semantics/*"

Each selected case is then one test, `keras-cnn-ref::section/case`, run
against your classes (the layers not given are keras_cnn_ref's), next to
your own tests: `-k`, `-x`, `--junitxml`, markers and pytest-xdist work as
in any run. A failing case reports each failing comparison on a line, as
`keras-cnn-ref check` does. To expect a failure, mark its test in your
`conftest.py`, as `examples/conformance_project` does.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keras-cnn-ref", "conformance of conv and pooling layers to built-in Keras")
    group.addoption(
        "--keras-cnn-ref",
        action="append",
        default=[],
        metavar="KEY=MODULE:CLASS",
        help="a layer to check, by its key (conv2d, maxpool2d, ...; `keras-cnn-ref check --help` lists them); "
        "repeat it for more. Any of these options adds the conformance cases to the run",
    )
    group.addoption(
        "--keras-cnn-ref-select",
        metavar="PATTERN",
        help='comma-separated globs over "section/case" ids, each matching a whole id or a whole section '
        "(default: every case)",
    )
    group.addoption(
        "--keras-cnn-ref-dtype", metavar="DTYPE", default="all", help="only the cases that compute in it (default: all)"
    )


@pytest.hookimpl(tryfirst=True)  # before -k and markers deselect: the cases are items like any other
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    given = config.getoption("--keras-cnn-ref")
    select = config.getoption("--keras-cnn-ref-select")
    if not given and not select:
        return
    suite = Suite.from_parent(session, name="keras-cnn-ref", nodeid="keras-cnn-ref")
    suite.setup_from(given, select, config.getoption("--keras-cnn-ref-dtype"))
    items.extend(suite.collect())


class Suite(pytest.Collector):
    """The selected cases, against one implementation."""

    def setup_from(self, given: list[str], select: str | None, dtype: str) -> None:
        from keras_cnn_ref.conformance import suite
        from keras_cnn_ref.conformance.harness import Implementation, given_class

        classes = {}
        for option in given:
            key, _, spec = option.partition("=")
            if not spec:
                raise pytest.UsageError(f"--keras-cnn-ref takes KEY=MODULE:CLASS. Received: {option!r}")
            try:
                classes[key] = given_class(key, spec)
            except (ValueError, TypeError, ImportError) as error:
                raise pytest.UsageError(f"--keras-cnn-ref {option}: {error}") from None
        self.impl = Implementation(**classes)
        self.chosen = suite.select(select, dtype)
        if not self.chosen:
            raise pytest.UsageError(f"--keras-cnn-ref-select {select!r}: no case matches (dtype {dtype}).")

    def collect(self) -> list[pytest.Item]:
        return [
            Case.from_parent(self, name=f"{section.name}/{case['id']}", section=section, case=case)
            for section, case in self.chosen
        ]


class CaseFailed(Exception):
    """A case's failing comparisons."""


class Case(pytest.Item):
    """One conformance case: its comparisons must all hold."""

    def __init__(self, *, section, case: dict, **kwargs):
        super().__init__(**kwargs)
        self.section, self.case = section, case

    def runtest(self) -> None:
        from keras_cnn_ref.conformance.report import failures_text
        from keras_cnn_ref.conformance.suite import run_case

        results = run_case(self.section, self.case, self.parent.impl)
        if not results or not all(result.ok for result in results):
            raise CaseFailed(failures_text(results) or "no comparison ran")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"keras-cnn-ref::{self.name}"
