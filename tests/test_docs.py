"""The README and docs: every code block is run or says why not, and their figures are the code's and the data's.

The blocks themselves run as tests through Sybil (`tests/doc_blocks.py`);
the generated tables are `tools/docs_tables.py`'s.
"""

import importlib.util
import json
import math
import re

import jax
import pytest

from keras_cnn_ref._registry import LAYERS
from keras_cnn_ref.cli import TYPICAL_TIMES, main
from keras_cnn_ref.conformance.harness import KNOWN
from keras_cnn_ref.conformance.suite import sections, select
from keras_cnn_ref.models import keras
from tests.doc_blocks import LANGUAGES, ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CONFORMANCE = (ROOT / "docs" / "conformance.md").read_text()
FENCE = re.compile(r"^```(\S*)", re.M)
pytestmark = pytest.mark.quick


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_code_block_names_its_language_and_every_skip_its_reason(path):
    text = path.read_text()
    opening = FENCE.findall(text)[::2]  # fences alternate: opening, closing
    assert all(language in LANGUAGES for language in opening), opening
    skips = re.findall(r"<!-- skip: (.*?) -->", text)
    assert all(re.fullmatch(r'next "[^"]{20,}"', skip) for skip in skips), skips


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_file_of_the_project_a_page_names_exists(path):
    if path.name == "performance-history.md":  # a record: it names files as they were then
        return
    named = re.findall(r"`((?:keras_cnn_ref|tools|tests|examples|compat)/[\w/.-]+\.(?:py|json|md))`", path.read_text())
    assert [name for name in named if not (ROOT / name).exists()] == []


def test_the_readme_is_a_front_page_and_the_docs_hold_the_rest():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b|\bcommit [0-9a-f]{7}", readme)  # no dated runs, no hashes


def _block_after(marker: str) -> str:
    return re.search(rf"{re.escape(marker)}.*?```text\n(.*?)```", CONFORMANCE, re.S).group(1)


def test_the_case_counts_are_the_suites():
    """Exactly, on a Keras that has every layer; an older one lacks only cases (adaptive pooling's, before 3.13)."""
    counts = {section.name: len(section.cases) + len(section.lacking) for section in sections()}
    stated = {name: int(count) for name, count in re.findall(r"^\| `(\w+)` \| (\d+) \|", CONFORMANCE, re.M)}
    total = int(re.search(r"runs the whole suite: (\d+) cases in seven sections", CONFORMANCE).group(1))
    assert counts == stated and len(counts) == 7 and total == sum(stated.values())
    assert len(select()) == total if set(KNOWN) == set(LAYERS) else len(select()) < total
    typical = json.loads(TYPICAL_TIMES.read_text())["sections"]  # what `check --help` says
    assert {name: section["cases"] for name, section in typical.items()} == stated


def test_the_documented_model_sample_and_figures_are_what_check_prints(tmp_path, capsys):
    """Exactly, on the Keras and JAX the page names; elsewhere in the supported range, all but the figures."""
    assert main(["check", "--select", "documented_model", "--json", str(tmp_path / "report.json")]) == 0
    printed = capsys.readouterr().out.splitlines()
    sample = [line for line in _block_after("Measured on this project's").splitlines() if line != "..."]
    measured_here = f"Keras {keras.__version__} on JAX {jax.__version__} " in sample[0]
    if not measured_here:  # other versions round differently: compare the rows without their figures
        sample, printed = (
            [re.sub(r"\d\.\d\de[-+]\d\d|builtin: Keras .*", "#", line) for line in lines] for lines in (sample, printed)
        )
    assert sample[0] == printed[0] and [line for line in sample if line not in printed] == []
    if not measured_here:
        return
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    worst = {
        kind: max(row["max_rel"] for row in rows if row["max_rel"] is not None and select_row(row, kind))
        for kind in ("output", "grad", "fit")
    }
    stated = re.search(
        r"output agrees to within (\S+), and the gradients .*? to within (\S+) \(.*?"
        r"agree to within (\S+)\.",
        " ".join(CONFORMANCE.split()),
    )
    assert [float(figure) for figure in stated.groups()] == [_up(worst[kind]) for kind in ("output", "grad", "fit")]


def select_row(row: dict, kind: str) -> bool:
    """The documented-model rows behind each of the page's three figures."""
    if kind == "output":
        return row["compared"] == "output" and row["case"] != "model"
    if kind == "grad":
        return row["case"] == "model" and row["compared"].startswith("grad ")
    return row["case"] == "fit-steps" and row["compared"].startswith("weight ")


def _up(value: float) -> float:
    """`value` rounded up to two significant figures, as the page states a bound."""
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / scale) * scale, 12)


def _docs_tables():
    spec = importlib.util.spec_from_file_location("docs_tables", ROOT / "tools" / "docs_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_table_is_its_data_rendered():
    """A re-measured JSON, a new layer or a hand-edited figure fails here until `python tools/docs_tables.py`."""
    assert _docs_tables().stale() == []


def test_every_table_is_shown_and_every_region_has_a_renderer():
    tables = _docs_tables()
    shown = [found.group(2) for path in tables.documents() for found in tables.REGION.finditer(path.read_text())]
    assert set(shown) == set(tables.TABLES)


def test_the_layer_table_names_each_layers_kernel():
    from keras_cnn_ref import kernels

    rows = _docs_tables().layer_table().splitlines()[2:]
    assert all(hasattr(kernels, re.findall(r"\| `(\w+)` \|", row)[0]) for row in rows)


def test_the_plugin_section_names_every_routed_op():
    from keras_cnn_ref import plugin

    line = re.search(r"<!-- plugin-ops -->\n(.*)\n", (ROOT / "docs" / "plugin.md").read_text()).group(1)
    assert re.findall(r"`(?:keras\.ops\.)?(\w+)`", line) == list(plugin.ROUTED)
