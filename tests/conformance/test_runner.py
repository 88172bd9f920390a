"""The runner itself: it fails on wrong implementations, names the case, and writes its reports."""

import json
import math
import re
import xml.etree.ElementTree as ElementTree

import jax.numpy as jnp
import pytest

from keras_cnn_ref import Conv2D, Conv3D, MaxPooling2D, kernels
from keras_cnn_ref._registry import LAYERS
from keras_cnn_ref.cli import main
from keras_cnn_ref.conformance import report
from keras_cnn_ref.conformance.harness import Implementation, load_class
from keras_cnn_ref.conformance.suite import run_suite, sections, select
from tests.conformance.defects import PLANTED


# One planted defect runs in the quick tier: the runner's catch is the same code for every one.
@pytest.mark.parametrize(
    "defect", [pytest.param(name, marks=pytest.mark.quick if name == "FlippedKernelConv2D" else ()) for name in PLANTED]
)
def test_each_planted_defect_exits_non_zero_and_names_its_case(defect, tmp_path, capsys):
    flag = "--" + max(
        (key for key, entry in LAYERS.items() if defect.endswith(entry.class_name)),
        key=lambda key: len(LAYERS[key].class_name),
    )  # SeparableConv2D, not Conv2D
    status = main(
        [
            "check",
            flag,
            f"tests.conformance.defects:{defect}",
            "--select",
            PLANTED[defect],
            "--json",
            str(tmp_path / "report.json"),
        ]
    )
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert status == 1 and not summary["ok"]
    assert PLANTED[defect] in summary["failed_cases"]
    assert f"FAILED {PLANTED[defect]} [" in capsys.readouterr().out


class BiasTwiceConv2D(Conv2D):
    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel) + (self.bias if self.use_bias else 0)


class DilationIgnoredConv2D(Conv2D):
    def convolution_op(self, inputs, kernel):
        return kernels.conv(
            inputs, kernel, strides=self.strides, padding=self.padding, groups=self.groups, data_format=self.data_format
        )


class AverageNotMaxPooling2D(MaxPooling2D):
    def call(self, inputs):
        window, strides, pads = kernels.geometry.pool_geometry(
            inputs, self.pool_size, self.strides, self.padding, self.data_format
        )
        return kernels.pool(inputs, jnp.zeros((), inputs.dtype), jnp.add, window, strides, pads) / math.prod(window)


class DepthStridesIgnoredConv3D(Conv3D):
    def convolution_op(self, inputs, kernel):
        return kernels.conv(
            inputs,
            kernel,
            strides=(1, *self.strides[1:]),
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            data_format=self.data_format,
        )


class RaisesConv2D(Conv2D):
    def convolution_op(self, inputs, kernel):
        raise NotImplementedError("not written yet")


@pytest.mark.parametrize(
    "impl, select_pattern",
    [
        (Implementation(BiasTwiceConv2D, MaxPooling2D), "edge_semantics/conv-*"),
        (Implementation(DilationIgnoredConv2D, MaxPooling2D), "layer_grid/conv2d-*-d2-g1-*-float32"),
        (Implementation(Conv2D, AverageNotMaxPooling2D), "edge_semantics/maxpool*"),
        (Implementation(RaisesConv2D, MaxPooling2D), "edge_semantics/conv-bias-is-added"),
        (Implementation(conv3d=DepthStridesIgnoredConv3D), "layer_grid/conv3d-valid-s2-d1-g1-last-*-float32"),
    ],
    ids=["bias-twice", "dilation-ignored", "average-not-max", "raises", "conv3d-depth-strides-ignored"],
)
def test_defects_the_runner_has_never_seen_fail_too(impl, select_pattern):
    chosen = select(select_pattern)
    results = run_suite(chosen, impl)
    assert chosen and not all(result.ok for result in results)


def test_a_passing_run_writes_json_with_the_documented_figures_and_junit(tmp_path, capsys):
    status = main(
        [
            "check",
            "--select",
            "documented_model/*",
            "--json",
            str(tmp_path / "report.json"),
            "--junit",
            str(tmp_path / "report.xml"),
        ]
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert status == 0 and report["summary"]["ok"] and report["summary"]["failed"] == 0
    params = {row["case"]: row["detail"] for row in report["results"] if row["compared"] == "params"}
    assert [params[layer] for layer in ("conv2d", "conv2d_1", "conv2d_2")] == [
        f"tested={n} | builtin={n} | documented={n}" for n in (40, 296, 1168)
    ]
    assert report["summary"]["implementation"]["conv2d"] == "keras_cnn_ref.layers._conv:Conv2D"
    suites = ElementTree.parse(tmp_path / "report.xml").getroot()
    assert [suite.get("name") for suite in suites] == ["documented_model"]
    assert int(suites[0].get("tests")) == report["summary"]["comparisons"] and suites[0].get("failures") == "0"
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path / 'report.json'}, {tmp_path / 'report.xml'}"


@pytest.mark.quick
def test_list_select_and_dtype_choose_cases(capsys):
    assert main(["check", "--list", "--dtype", "bfloat16", "--select", "layer_grid"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed and all(case.startswith("layer_grid/") and "bfloat16" in case for case in listed)
    assert main(["check", "--select", "no-such-case"]) == 2
    assert main(["check", "--list", "--select", "no-such-case"]) == 2  # listing nothing is the same mistake
    assert capsys.readouterr().out == ""


@pytest.mark.quick
def test_a_selection_matches_whole_segments_with_globs_for_the_rest(capsys):
    ids = lambda pattern: [f"{section.name}/{case['id']}" for section, case in select(pattern)]  # noqa: E731
    assert ids("documented_model/conv2d") == ["documented_model/conv2d"]  # not conv2d_1, conv2d_2
    assert ids("distribution/documented-data-layers") == ["distribution/documented-data-layers"]
    grid = ids("layer_grid/conv2d-*")
    assert grid and all(case_id.startswith("layer_grid/conv2d-") for case_id in grid)  # no conv2dtranspose-*
    assert (
        len(ids("layer_grid"))
        == len(ids("layer_grid/*"))
        == len(next(s for s in sections() if s.name == "layer_grid").cases)
    )
    assert main(["check", "--select", "layer_grid/conv2d"]) == 2
    assert capsys.readouterr().err == (
        "keras-cnn-ref check: no case matches --select 'layer_grid/conv2d' --dtype all (a pattern matches whole "
        f"segments of section/case ids; 'layer_grid/conv2d-*' matches {len(grid)}).\n"
    )


@pytest.mark.quick
def test_a_layer_this_keras_lacks_is_named_with_the_keras_that_has_it(monkeypatch, capsys):
    from keras_cnn_ref.conformance import harness, suite
    from keras_cnn_ref.conformance.family_cases import FAMILY_CASES
    from keras_cnn_ref.conformance.layer_grid import SECTION

    older = {key: entry for key, entry in harness.KNOWN.items() if entry.since <= (3, 12)}  # Keras 3.12's layers
    monkeypatch.setattr(suite, "KNOWN", older)
    monkeypatch.setattr(harness, "KNOWN", older)
    grid = suite.Section.for_this_keras("layer_grid", FAMILY_CASES, SECTION.run)
    monkeypatch.setattr(suite, "sections", lambda: [grid])
    assert main(["check", "--select", "layer_grid/adaptiveavgpool2d-*"]) == 2
    assert capsys.readouterr().err == (
        "keras-cnn-ref check: no case of --select 'layer_grid/adaptiveavgpool2d-*' runs here: "
        f"AdaptiveAveragePooling2D (adaptiveavgpool2d) needs Keras 3.13 or newer; this is Keras {harness.keras.__version__}.\n"
    )
    assert main(["check", "--adaptivemaxpool1d", "keras_cnn_ref:AdaptiveMaxPooling1D"]) == 2
    assert "AdaptiveMaxPooling1D (adaptivemaxpool1d) needs Keras 3.13 or newer" in capsys.readouterr().err


@pytest.mark.quick
@pytest.mark.parametrize(
    "flag, spec, message",
    [
        ("--maxpool2d", "keras_cnn_ref:Conv2D", "is not a MaxPooling2D: MaxPooling2D(pool_size=2) on an input"),
        ("--conv2d", "keras_cnn_ref:Conv1D", "is not a Conv2D: Conv2D(filters=2, kernel_size=2) on an input"),
        ("--conv2d", "keras_cnn_ref.compare:Comparison", "is not a Keras layer (a subclass of keras.layers.Layer)"),
    ],
)
def test_a_class_of_the_wrong_kind_is_one_line_and_status_2_before_any_case_runs(flag, spec, message, capsys):
    assert main(["check", flag, spec, "--select", "documented_model"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"keras-cnn-ref check: {flag} {spec}: ")
    assert message in captured.err and captured.err.count("\n") == 1


@pytest.mark.quick
@pytest.mark.parametrize(
    "spec, message",
    [
        ("keras_cnn_ref.Conv2D", "A class is given as MODULE:CLASS. Received: 'keras_cnn_ref.Conv2D'"),
        ("keras_cnn_ref:Nope", "keras_cnn_ref has no class 'Nope'"),
        ("no_such_package:Conv2D", "No module named 'no_such_package'"),
    ],
)
def test_a_bad_class_spec_is_one_clear_line_and_status_2(spec, message, capsys):
    assert main(["check", "--conv2d", spec]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("keras-cnn-ref check: ") and message in error and "\n" not in error


def test_case_ids_are_unique_within_each_section():
    for section in sections():
        ids = [case["id"] for case in section.cases]
        assert len(ids) == len(set(ids)), section.name


@pytest.mark.quick
def test_a_failure_line_labels_its_sides_and_prints_plain_numbers(capsys):
    assert (
        main(
            [
                "check",
                "--conv2d",
                "tests.conformance.defects:FlippedKernelConv2D",
                "--select",
                PLANTED["FlippedKernelConv2D"],
            ]
        )
        == 1
    )
    printed = capsys.readouterr().out
    failure = next(line for line in printed.splitlines() if line.startswith("FAILED "))
    assert re.fullmatch(
        r"FAILED \S+ \[output\]: first difference at \([\d, ]+\): tested=-?[\d.e+-]+ \| builtin=-?[\d.e+-]+", failure
    ), failure
    assert "np." not in printed


@pytest.mark.quick
def test_the_progress_bar_counts_failed_cases_in_whole_numbers(capsys):
    impl = Implementation(conv2d=load_class("tests.conformance.defects:FlippedKernelConv2D"))
    run_suite(select(PLANTED["FlippedKernelConv2D"] + "," + PLANTED["SplitTiesMaxPooling2D"]), impl, verbose=2)
    progress = capsys.readouterr().out.strip()
    assert progress.endswith(" - failed cases: 1 - failed after: 0"), progress


class OffsetConv2D(Conv2D):
    """One bug: 1e-3 added to every output. Every later layer of a model then differs too."""

    def call(self, x):
        return super().call(x) + 1e-3


def test_one_wrong_layer_is_one_failure_and_the_layers_after_it_its_consequences(tmp_path, capsys):
    results = run_suite(select("documented_model"), Implementation(conv2d=OffsetConv2D), verbose=2)
    assert capsys.readouterr().out.strip().endswith(" - failed cases: 1 - failed after: 10")  # the same unit
    assert (
        report.summary_line(results) == "cases: 0 passed, 1 failed, 10 more failed after it (51 comparisons, 34 failed)"
    )
    lines = report.failures_text(results).splitlines()
    assert [line.split(" [")[0] for line in lines[:-1]] == ["FAILED documented_model/conv2d"]
    assert lines[-1] == (
        "AFTER documented_model/conv2d: 10 later cases fail too, likely its consequences: max_pooling2d, "
        "conv2d_1, max_pooling2d_1, conv2d_2, flatten, dense, dense_1, model, fit-steps, eager-jit-predict "
        "(--all-failures lists them)"
    )
    every = report.failures_text(results, consequences=True).splitlines()
    assert len(every) == 34 and every[-1].endswith("(after documented_model/conv2d)")
    rows = report.to_json(results, {}, {})["results"]
    assert len(rows) == 51 and {row["after"] for row in rows if not row["ok"]} == {None, "documented_model/conv2d"}


class MyConv2D(Conv2D):
    """A correct drop-in under a class name of its own."""


@pytest.mark.quick
def test_a_renamed_drop_in_is_told_why_weight_files_fail_and_what_to_do():
    results = run_suite(select("serialization/weights-h5-*"), Implementation(conv2d=MyConv2D))
    assert [(r.case, r.compared, r.ok) for r in results] == [
        ("weights-h5-from-builtin", "load", False),
        ("weights-h5-to-builtin", "load", False),
    ]
    for result in results:
        assert result.comparison.detail.startswith(
            "Keras keys each layer's weights in a .weights.h5 file by its class name, and MyConv2D is not Conv2D: "
            "name the class Conv2D, as Keras does, to exchange weight files with built-in models (ValueError: "
        )


def test_the_distribution_section_refuses_classes_its_fresh_process_cannot_import():
    local = type("LocalConv2D", (Conv2D,), {"__module__": "__main__"})
    [(section, case)] = [
        pair for pair in select("distribution/documented-data-layers") if pair[1]["id"] == "documented-data-layers"
    ]
    message = r"must be importable by module. Received: \{'conv2d': '__main__:LocalConv2D'\}"
    with pytest.raises(ValueError, match=message):
        section.run(case, Implementation(conv2d=local))


@pytest.mark.quick
def test_the_leaking_causal_defect_is_caught_by_what_it_sees_not_by_its_length():
    impl = Implementation(conv1d=load_class("tests.conformance.defects:FutureLeakingConv1D"))
    results = run_suite(select(PLANTED["FutureLeakingConv1D"]), impl)
    failed = {result.compared for result in results if not result.ok}
    assert "output" in failed and "symbolic shape" not in failed, failed
