"""The plan: a static argument, the policy, each platform's tactics, and `conv` keeping JAX's sharding.

The sharding is measured on 8 simulated CPU devices (`sharded_conv.py`, a process of its own).
"""

import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh

from keras_cnn_ref._devices import run_on_devices
from keras_cnn_ref.compare import TOLERANCES, compare
from keras_cnn_ref.kernels import (
    ACCELERATOR,
    CPU,
    Algorithm,
    Plan,
    Policy,
    algorithms_run,
    conv,
    get_policy,
    policy,
    set_policy,
)
from keras_cnn_ref.kernels.plan import on_each_platform, per_shard
from tests.kernels.sharded_conv import CASES, DEVICES

MOVES = ("all-gather", "all-to-all", "collective-permute", "reduce-scatter")


@pytest.mark.quick
def test_the_plan_is_part_of_the_jit_cache_key_and_not_of_the_values(rng):
    """Two plans compile two programs (no cache reused across them), and agree on the values."""
    x = jnp.asarray(rng.standard_normal((4, 10, 10, 2)), jnp.float32)
    kernel = jnp.asarray(rng.standard_normal((3, 3, 2, 4)), jnp.float32)
    plans = [Plan(CPU, CPU, policy=Algorithm.IM2COL), Plan(CPU, CPU, policy=Algorithm.BANDED_ROWS)]
    jaxprs = [str(jax.make_jaxpr(lambda a, b, plan=plan: conv(a, b, plan=plan))(x, kernel)) for plan in plans]
    assert ("cond[" in jaxprs[0], "cond[" in jaxprs[1]) == (False, True)  # the band's finite-data guard
    np.testing.assert_allclose(*(conv(x, kernel, plan=plan) for plan in plans), rtol=1e-5, atol=1e-5)


@pytest.mark.quick
def test_a_plan_must_be_a_plan():
    with pytest.raises(TypeError, match=re.escape("`plan` must be a keras_cnn_ref.kernels.Plan. Received: plan='cpu'")):
        conv(jnp.ones((1, 4, 4, 1)), jnp.ones((2, 2, 1, 1)), plan="cpu")


@pytest.mark.parametrize(
    "axes",
    [{"batch_axes": ("data",)}, {"filter_axes": ("batch",), "batch_axes": ("batch",)}, {"filter_axes": ("model",)}],
)
def test_a_plan_names_distinct_axes_of_its_mesh(axes):
    mesh = Mesh(np.array(jax.devices()[:1]).reshape(1, 1), ("batch", "model"))
    plan = Plan(mesh=mesh, **axes) if "model" not in axes.get("filter_axes", ()) else Plan(**axes)
    with pytest.raises(ValueError, match=r"must be distinct axes of its mesh. Received: batch_axes="):
        conv(jnp.ones((1, 4, 4, 1)), jnp.ones((2, 2, 1, 1)), plan=plan)


@pytest.mark.quick
def test_each_platform_is_traced_once_and_one_tactics_for_both_is_one_branch():
    calls = []

    def record(x, tactics):
        calls.append(tactics)
        return x

    jax.make_jaxpr(lambda x: on_each_platform(record, Plan(), x))(jnp.ones(2))
    assert calls == [CPU, ACCELERATOR]
    calls.clear()
    jax.make_jaxpr(lambda x: on_each_platform(record, Plan(CPU, CPU), x))(jnp.ones(2))
    assert calls == [CPU]


def test_nothing_is_sharded_without_a_mesh_with_one_shard_or_with_a_batch_that_does_not_divide():
    def f(x, kernel, bias):
        return x

    mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))
    assert Plan().shards(("batch",)) == 1
    assert per_shard(f, Plan(), 8, 4, 1) is f
    assert per_shard(f, Plan(mesh=mesh, batch_axes=("batch",)), 8, 4, 1) is f  # one device: one shard


def measured(case: str, filters: bool = False, sharded_plan: bool = True) -> dict:
    request = {"case": case, "filters": filters, "sharded_plan": sharded_plan}
    return run_on_devices("tests.kernels.sharded_conv", request, DEVICES, timeout_s=600)


@pytest.mark.parametrize("case", CASES)
def test_a_sharded_batch_stays_sharded_and_only_the_weight_gradients_are_summed(case):
    """The output keeps the batch's sharding, nothing moves activations, and the one
    all-reduce sums the kernel and bias gradients (and the loss) in their final shapes."""
    result = measured(case)
    assert result["gap"] < 1e-5
    assert result["out_spec"][0] == "batch" and not any(result["out_spec"][1:])
    assert not any(result["collectives"].get(kind) for kind in MOVES), result["collectives"]
    reduced = sum(size for _, size in result["collectives"]["all-reduce"])
    assert reduced == result["weight_bytes"] + 4, result["collectives"]  # + the float32 loss


def test_without_the_mesh_in_its_plan_the_chunk_loop_gathers_the_batch():
    """The check above can fail: a plan that does not know the sharding loops over the whole batch."""
    result = measured("im2col-chunked", sharded_plan=False)
    assert result["gap"] < 1e-5
    gathered = result["collectives"]["all-gather"]
    assert gathered and max(size for _, size in gathered) >= result["x_bytes"], result["collectives"]


def test_filters_split_over_a_model_axis_sum_the_input_gradient_once_in_its_own_shape():
    """As XLA's convolution does under a filter-sharded kernel: each device takes every input
    channel of its half of the batch (here already replicated over the model axis, so nothing is
    gathered) and computes its quarter of the filters; the input gradient's partial sums over the
    filters are added once, in the input's shape, and the kernel's quarters over the batch halves."""
    result = measured("im2col-chunked", filters=True)
    assert result["gap"] < 1e-5
    assert result["out_spec"] == ["batch", None, None, "model"]
    collectives = result["collectives"]
    assert not any(collectives.get(kind) for kind in MOVES), collectives
    reduced = [size for _, size in collectives["all-reduce"]]
    half_batch, weight_quarter = result["x_bytes"] // 2, result["weight_bytes"] // 4
    assert max(reduced) >= half_batch and sum(reduced) <= half_batch + weight_quarter + 8, collectives  # + losses


# A thick stride-1 3x3 layer: exact takes im2col, fast minimal filtering.
THICK = ((2, 12, 12, 32), (3, 3, 32, 32))


@pytest.mark.quick
def test_the_policy_is_exact_by_default_and_fast_retraces_a_jitted_function_with_minimal_filtering(rng):
    x, kernel = (jnp.asarray(rng.standard_normal(shape), jnp.float32) for shape in THICK)
    f = jax.jit(lambda a, b: conv(a, b, padding="same"))
    exact = f(x, kernel)
    assert get_policy() is Policy.EXACT and algorithms_run(f, x, kernel) == {Algorithm.IM2COL}
    with policy("fast"):
        fast = f(x, kernel)
        assert algorithms_run(f, x, kernel) == {Algorithm.MINIMAL_FILTERING, Algorithm.TAP_LOOP}
    assert not np.array_equal(fast, exact) and compare(fast, exact, TOLERANCES["float32"]).ok
    np.testing.assert_array_equal(f(x, kernel), exact)  # exact's program again, not fast's


@pytest.mark.quick
def test_a_plan_s_own_policy_wins_and_set_policy_changes_the_process_s(rng):
    x, kernel = (jnp.asarray(rng.standard_normal(shape), jnp.float32) for shape in THICK)
    try:
        set_policy("fast")
        assert get_policy() is Policy.FAST
        assert algorithms_run(lambda a, b: conv(a, b, plan=Plan(policy=Policy.EXACT)), x, kernel) == {Algorithm.IM2COL}
        with policy(Algorithm.TAP_LOOP):
            assert algorithms_run(conv, x, kernel) == {Algorithm.TAP_LOOP}
        assert Algorithm.MINIMAL_FILTERING in algorithms_run(conv, x, kernel)
    finally:
        set_policy("exact")


@pytest.mark.quick
def test_a_policy_that_is_not_one_names_the_choices():
    with pytest.raises(ValueError, match=r"A policy is one of 'exact', 'fast', 'im2col', .*Received: policy='quick'"):
        set_policy("quick")
    assert get_policy() is Policy.EXACT


@pytest.mark.quick
def test_the_environment_sets_the_policy_a_process_starts_with():
    code = "from keras_cnn_ref import kernels; print(kernels.get_policy().value)"
    env = {**os.environ, "KERAS_CNN_REF_POLICY": "fast"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "fast"


@pytest.mark.quick
def test_every_algorithm_named_for_the_process_runs_on_the_default_plan_where_it_can(rng):
    """Both platforms' tactics are traced: naming minimal filtering must not fail on the accelerator's."""
    x, kernel = (jnp.asarray(rng.standard_normal(shape), jnp.float32) for shape in THICK)
    for algorithm in (Algorithm.MINIMAL_FILTERING, Algorithm.KN2ROW, Algorithm.TAP_LOOP, Algorithm.IM2COL):
        with policy(algorithm):
            out = conv(x, kernel, padding="same")
            assert algorithm in algorithms_run(conv, x, kernel, padding="same")
        assert compare(out, conv(x, kernel, padding="same"), TOLERANCES["float32"]).ok
