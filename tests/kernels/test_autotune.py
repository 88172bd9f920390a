"""Tuning by measurement (`_autotune.py`): a miss times and caches, a hit reuses, and a bad cache never fails a call."""

import json
import os
import pathlib

import jax
import numpy as np
import pytest

from keras_cnn_ref.kernels import Algorithm, _autotune, algorithms_run, conv, policy

pytestmark = pytest.mark.quick

# A 3x3 layer every exact algorithm but the channel-wise sum computes: the chooser takes banded rows.
X, KERNEL = np.ones((2, 10, 10, 4), "float32"), np.ones((3, 3, 4, 4), "float32") / 36


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache file, and the costs a fake timer gives: the tap loop the cheapest."""
    path = tmp_path / "autotune.json"
    monkeypatch.setenv("KERAS_CNN_REF_AUTOTUNE_CACHE", str(path))
    timed = []

    def cost(choice, shapes, dtypes):
        timed.append(choice.algorithm)
        return {Algorithm.TAP_LOOP: 1.0}.get(choice.algorithm, 2.0)

    monkeypatch.setattr(_autotune, "_cost", cost)
    return path, timed


def run_autotuned() -> set[Algorithm]:
    """As a fresh process would: programs traced before, under the same cache file, are dropped."""
    jax.clear_caches()
    with policy("exact", autotune=True):
        return algorithms_run(conv, X, KERNEL)


def test_a_miss_times_every_exact_algorithm_that_computes_it_then_caches_the_cheapest(cache):
    path, timed = cache
    assert run_autotuned() == {Algorithm.TAP_LOOP}
    assert set(timed) == {
        Algorithm.IM2COL,
        Algorithm.TAP_LOOP,
        Algorithm.BANDED_ROWS,
        Algorithm.KN2ROW,
    }  # not minimal filtering
    assert list(json.loads(path.read_text()).values()) == ["tap_loop"]


def test_a_hit_reuses_the_cached_choice_without_timing(cache):
    _, timed = cache
    run_autotuned()
    timed.clear()
    assert run_autotuned() == {Algorithm.TAP_LOOP} and timed == []


def test_another_jax_version_or_device_misses(cache):
    path, timed = cache
    run_autotuned()
    entries = json.loads(path.read_text())
    (key,) = entries
    others = {key.replace('"cpu"', '"cuda"', 1): "im2col", key.replace(jax.__version__, "0.0.1", 1): "im2col"}
    path.write_text(json.dumps(others))
    timed.clear()
    assert run_autotuned() == {Algorithm.TAP_LOOP} and timed  # timed again here
    assert len(json.loads(path.read_text())) == 3


def test_a_timed_run_matches_the_choice_it_caches(tmp_path, monkeypatch):
    """The real timer, once: whatever it picks, the same cache gives the same algorithm and the same bits."""
    monkeypatch.setenv("KERAS_CNN_REF_AUTOTUNE_CACHE", str(tmp_path / "autotune.json"))
    with policy("exact", autotune=True):
        first = np.asarray(conv(X, KERNEL))
        chosen = algorithms_run(conv, X, KERNEL)
    (name,) = json.loads((tmp_path / "autotune.json").read_text()).values()
    assert Algorithm(name) in chosen
    with policy(Algorithm(name)):
        np.testing.assert_array_equal(conv(X, KERNEL), first)


def test_a_corrupt_cache_warns_and_the_chooser_picks(cache):
    path, timed = cache
    path.write_text("{not json")
    with pytest.warns(UserWarning, match="cannot read the autotune cache .*; choosing by shape instead"):
        assert run_autotuned() == {Algorithm.BANDED_ROWS, Algorithm.TAP_LOOP}  # the band, its fallback beside it
    assert timed == [] and path.read_text() == "{not json"


def test_an_unwritable_cache_warns_and_the_chooser_picks(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KERAS_CNN_REF_AUTOTUNE_CACHE", str(blocker / "autotune.json"))  # a folder that is a file
    _, timed = cache
    with pytest.warns(UserWarning, match="cannot write the autotune cache .*a-file/autotune.json"):
        assert run_autotuned() == {Algorithm.BANDED_ROWS, Algorithm.TAP_LOOP}
    assert timed == []


def test_a_read_only_cache_file_warns_and_the_chooser_picks(cache, monkeypatch):
    path, timed = cache
    path.write_text("{}")
    path.chmod(0o444)
    if os.geteuid() == 0:  # root writes through a file's mode: the answer anyone else gets, given here
        real_open = open

        def read_only(file, mode="r", *args, **kwargs):
            if pathlib.Path(file) == path and set(mode) & set("wa+"):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr("builtins.open", read_only)
    with pytest.warns(UserWarning, match="cannot write the autotune cache .*autotune.json .Permission denied"):
        assert run_autotuned() == {Algorithm.BANDED_ROWS, Algorithm.TAP_LOOP}
    assert timed == [] and path.read_text() == "{}"
