"""The README and docs: every code block is run or says why not, and their figures are the code's.

The blocks themselves run as tests through Sybil (`tests/doc_blocks.py`).
"""

import json
import math
import re

import jax
import pytest

from keras_cnn_ref.cli import main
from keras_cnn_ref.models import keras
from keras_cnn_ref.compat.suite import sections, select
from tests.doc_blocks import LANGUAGES, ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\S*)", re.M)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_every_code_block_names_its_language_and_every_skip_its_reason(path):
    text = path.read_text()
    opening = FENCE.findall(text)[::2]  # fences alternate: opening, closing
    assert all(language in LANGUAGES for language in opening), opening
    skips = re.findall(r"<!-- skip: (.*?) -->", text)
    assert all(re.fullmatch(r'next "[^"]{20,}"', skip) for skip in skips), skips


def _readme_block_after(marker: str) -> str:
    return re.search(rf"{re.escape(marker)}.*?```text\n(.*?)```", README, re.S).group(1)


def test_the_case_counts_are_the_suites():
    counts = {section.name: len(section.cases) for section in sections()}
    assert f"runs the whole suite: {len(select())} cases in seven sections" in README and len(counts) == 7
    rows = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", README, re.M))
    assert {name: int(count) for name, count in rows.items()} == counts


def test_the_documented_model_sample_and_figures_are_what_check_prints(tmp_path, capsys):
    """Exactly, on the Keras and JAX the README names; elsewhere in the supported range, all but the figures."""
    assert main(["check", "--select", "documented_model", "--json", str(tmp_path / "report.json")]) == 0
    printed = capsys.readouterr().out.splitlines()
    sample = [line for line in _readme_block_after("Measured on this project's").splitlines() if line != "..."]
    measured_here = f"Keras {keras.__version__} on JAX {jax.__version__} " in sample[0]
    if not measured_here:  # other versions round differently: compare the rows without their figures
        sample, printed = ([re.sub(r"\d\.\d\de[-+]\d\d|builtin: Keras .*", "#", line) for line in lines]
                           for lines in (sample, printed))
    assert sample[0] == printed[0] and [line for line in sample if line not in printed] == []
    if not measured_here:
        return
    rows = json.loads((tmp_path / "report.json").read_text())["results"]
    worst = {kind: max(row["max_rel"] for row in rows if row["max_rel"] is not None and select_row(row, kind))
             for kind in ("output", "grad", "fit")}
    stated = re.search(r"output agrees to within (\S+), and the gradients .*? to within (\S+) \(.*?"
                       r"agree to within (\S+)\.", " ".join(README.split()))
    assert [float(figure) for figure in stated.groups()] == [_up(worst[kind]) for kind in ("output", "grad", "fit")]


def select_row(row: dict, kind: str) -> bool:
    """The documented-model rows behind each of the README's three figures."""
    if kind == "output":
        return row["compared"] == "output" and row["case"] != "model"
    if kind == "grad":
        return row["case"] == "model" and row["compared"].startswith("grad ")
    return row["case"] == "fit-steps" and row["compared"].startswith("weight ")


def _up(value: float) -> float:
    """`value` rounded up to two significant figures, as the README states a bound."""
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / scale) * scale, 12)


def layer_table_rows() -> list[str]:
    """The README's table of layers, as the registry gives it: one row per kind."""
    import itertools

    from keras_cnn_ref._registry import LAYERS

    rows = []
    for kind, group in itertools.groupby(LAYERS.items(), key=lambda item: item[1].kind):
        group = list(group)
        kernel = f"{kind}_conv" if kind in ("depthwise", "separable") else kind
        rows.append(f"| {', '.join(f'`{entry.class_name}`' for _, entry in group)} | `{kernel}` | "
                    f"{', '.join(f'`--{key}`' for key, _ in group)} | {'.'.join(map(str, group[0][1].since))} |")
    return rows


def test_the_layer_table_is_the_registry_and_each_kernel_exists():
    from keras_cnn_ref import kernels

    table = re.search(r"<!-- layer-table -->\n(.*?)\n\n", README, re.S).group(1).splitlines()[2:]
    assert table == layer_table_rows()
    assert all(hasattr(kernels, re.findall(r"\| `(\w+)` \|", row)[0]) for row in table)


def test_the_plugin_section_names_every_routed_op():
    from keras_cnn_ref import plugin

    line = re.search(r"<!-- plugin-ops -->\n(.*)\n", README).group(1)
    assert re.findall(r"`(?:keras\.ops\.)?(\w+)`", line) == list(plugin.ROUTED)
