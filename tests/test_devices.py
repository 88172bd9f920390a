"""Running a module on 8 simulated devices, and counting a compiled program's collectives."""

import pytest

from keras_cnn_ref._devices import collectives, run_on_devices

pytestmark = pytest.mark.quick


def test_a_failing_child_is_one_line_that_ends_with_its_last_words():
    with pytest.raises(RuntimeError, match=r"the 8-device process \(no_such_module\) failed: .*No module named"):
        run_on_devices("no_such_module", {}, 8, timeout_s=120)


def test_collectives_are_listed_by_kind_with_their_bytes_and_tuples_flattened():
    hlo = """
  %all-reduce = (f32[], f32[3,3,1,4]{3,2,1,0}, bf16[4]{0}) all-reduce(f32[] %a, f32[3,3,1,4]{3,2,1,0} %b), to_apply=%add
  %all-gather-start = f32[64,13,13,32]{2,1,0,3} all-gather-start(f32[64,13,13,8]{2,1,0,3} %c), dimensions={3}
  %p = pred[] parameter(0)
"""
    found = collectives(hlo)
    assert found == {
        "all-reduce": [("f32[] f32[3,3,1,4] bf16[4]", 4 + 144 + 8)],
        "all-gather": [("f32[64,13,13,32]", 64 * 13 * 13 * 32 * 4)],
    }
