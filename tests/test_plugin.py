"""`keras_cnn_ref.plugin`: routing, exact restore, nesting, threads, versions, and the ops it routes."""

import threading

import jax
import keras
import numpy as np
import pytest
from keras.src.backend.jax import nn

from keras_cnn_ref import plugin
from keras_cnn_ref.compare import compare
from keras_cnn_ref.conformance.model_level import XlaRefused, xla_window_ops_refuse
from keras_cnn_ref.layers._backend import minor_version


@pytest.mark.quick
def test_enable_routes_and_disable_restores_the_very_same_functions():
    routed = plugin._routed(nn)  # adaptive pooling from Keras 3.13
    assert set(routed) == {name for name in plugin.ROUTED if hasattr(nn, name)} and "conv_transpose" in routed
    originals = {name: getattr(nn, name) for name in routed}
    plugin.enable()
    try:
        assert plugin.is_enabled()
        assert all(getattr(nn, name) is plugin.ROUTED[name] for name in routed)
    finally:
        plugin.disable()
    assert not plugin.is_enabled()
    assert all(getattr(nn, name) is originals[name] for name in routed)


@pytest.mark.quick
def test_contexts_nest_and_an_unmatched_disable_is_an_error():
    with plugin.enabled():
        with plugin.enabled():
            assert plugin.is_enabled()
        assert plugin.is_enabled() and nn.conv is plugin.ROUTED["conv"]  # the outer block still holds
    assert not plugin.is_enabled()
    with pytest.raises(RuntimeError, match="more often than enable"):
        plugin.disable()


@pytest.mark.quick
def test_threads_entering_and_leaving_at_once_never_see_the_ops_restored_inside_a_block():
    failures = []

    def worker():
        for _ in range(300):
            with plugin.enabled():
                if nn.max_pool is not plugin.ROUTED["max_pool"]:
                    failures.append("restored while enabled")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and not plugin.is_enabled() and nn.max_pool is not plugin.ROUTED["max_pool"]


@pytest.mark.quick
def test_an_unsupported_keras_version_fails_loudly_and_changes_nothing(monkeypatch):
    monkeypatch.setattr(plugin.keras, "__version__", "3.16.0")
    with pytest.raises(RuntimeError, match=r"supports Keras 3\.12\.x, 3\.13\.x, 3\.14\.x, 3\.15\.x only.*'3\.16\.0'"):
        plugin.enable()
    assert not plugin.is_enabled() and nn.conv is not plugin.ROUTED["conv"]


@pytest.mark.quick
def test_a_changed_backend_signature_fails_loudly(monkeypatch):
    monkeypatch.setattr(nn, "average_pool", lambda inputs, pool_size, strides, padding: None)
    with pytest.raises(RuntimeError, match="average_pool"):
        plugin.enable()
    assert not plugin.is_enabled()


OPS = [
    ("conv-1d", lambda x, k: keras.ops.conv(x, k, strides=2, padding="same"), (2, 9, 4), (3, 4, 6)),
    (
        "conv-2d-grouped-channels-first",
        lambda x, k: keras.ops.conv(x, k, padding="same", data_format="channels_first", dilation_rate=2),
        (2, 4, 7, 8),
        (3, 3, 2, 6),
    ),
    ("conv-3d", lambda x, k: keras.ops.conv(x, k, strides=(1, 2, 1)), (1, 5, 6, 4, 2), (2, 2, 2, 2, 3)),
    (
        "depthwise-conv-2d",
        lambda x, k: keras.ops.depthwise_conv(x, k, strides=2, padding="same"),
        (2, 7, 7, 3),
        (3, 3, 3, 2),
    ),
    ("max-pool-3d", lambda x, k: keras.ops.max_pool(x, (2, 3, 2), 1, "same"), (1, 5, 6, 4, 2), None),
    ("average-pool-1d-same", lambda x, k: keras.ops.average_pool(x, 3, 2, "same"), (2, 9, 4), None),
    (
        "average-pool-2d-channels-first",
        lambda x, k: keras.ops.average_pool(x, 2, 2, "valid", "channels_first"),
        (2, 3, 8, 9),
        None,
    ),
    (
        "separable-2d",
        lambda x, k: keras.ops.separable_conv(x, k, np.ones((1, 1, 6, 4), "float32") / 6, 2, "same"),
        (2, 7, 7, 3),
        (3, 3, 3, 2),
    ),
    ("conv-transpose-1d", lambda x, k: keras.ops.conv_transpose(x, k, 2, "same"), (2, 9, 4), (3, 5, 4)),
    (
        "conv-transpose-2d-output-padding-channels-first",
        lambda x, k: keras.ops.conv_transpose(x, k, (2, 3), "valid", (1, 2), "channels_first"),
        (2, 3, 5, 4),
        (3, 2, 4, 3),
    ),
    (
        "conv-transpose-3d-dilated",
        lambda x, k: keras.ops.conv_transpose(x, k, 1, "same", dilation_rate=2),
        (1, 4, 5, 3, 2),
        (2, 3, 2, 3, 2),
    ),
]
if hasattr(nn, "adaptive_max_pool"):  # Keras 3.13 on
    OPS += [
        ("adaptive-max-pool-2d", lambda x, k: keras.ops.adaptive_max_pool(x, (3, 4)), (2, 7, 9, 3), None),
        (
            "adaptive-average-pool-1d-channels-first",
            lambda x, k: keras.ops.adaptive_average_pool(x, 4, "channels_first"),
            (2, 3, 10),
            None,
        ),
        ("adaptive-average-pool-3d", lambda x, k: keras.ops.adaptive_average_pool(x, 2), (1, 5, 4, 3, 2), None),
    ]


@pytest.mark.quick
def test_every_op_the_plugin_routes_has_a_case_below():
    routed = {name.replace("_", "-") for name in plugin._routed(nn)}
    assert {"conv", "depthwise-conv", "conv-transpose", "max-pool", "average-pool"} <= routed
    assert all(any(name.startswith(op) for name, *_ in OPS) for op in routed), routed


@pytest.mark.quick
@pytest.mark.parametrize("name, op, x_shape, kernel_shape", OPS, ids=[op[0] for op in OPS])
def test_routed_ops_match_keras_own_while_xla_refuses(name, op, x_shape, kernel_shape, rng):
    x = rng.standard_normal(x_shape).astype("float32")
    kernel = rng.standard_normal(kernel_shape).astype("float32") if kernel_shape else None
    builtin, builtin_grads = np.asarray(op(x, kernel)), _grads(op, x, kernel)
    with xla_window_ops_refuse():
        with pytest.raises(XlaRefused):  # the refusal bites when the plugin is off
            _grads(op, x, kernel)
        with plugin.enabled():
            ours, ours_grads = np.asarray(op(x, kernel)), _grads(op, x, kernel)
    assert compare(ours, builtin, 1e-6).ok
    assert all(compare(a, b, 1e-6).ok for a, b in zip(ours_grads, builtin_grads))


def _grads(op, x, kernel):
    """The gradients of a random projection of `op`'s output, with respect to `x` and the kernel."""
    operands = (x,) if kernel is None else (x, kernel)
    out, vjp = jax.vjp(lambda *args: op(*args, *(None,) * (2 - len(args))), *operands)
    cotangent = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    return [np.asarray(grad) for grad in vjp(cotangent)]


@pytest.mark.heavy
def test_keras_own_conv_and_pooling_tests_pass_on_the_plugin_while_xla_refuses():
    """`tools/keras_own_tests.py`: Keras's layers/convolutional, layers/pooling and nn_test.py's conv and pool tests."""
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "keras_own_tests.py"
    run = subprocess.run([sys.executable, str(tool), "-q"], capture_output=True, text=True)
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-3000:]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= (500 if hasattr(nn, "adaptive_max_pool") else 400), summary


@pytest.mark.quick
@pytest.mark.parametrize("op", [keras.ops.max_pool, keras.ops.average_pool])
def test_default_strides_work_on_the_plugin_where_keras_3_15_own_ops_fail(op):
    """Keras 3.15's JAX pools convert `pool_size` to 4-D before defaulting `strides` to it."""
    x = np.arange(16.0, dtype="float32").reshape(1, 4, 4, 1)
    with pytest.raises(TypeError, match="window_strides"):
        op(x, 2)
    with plugin.enabled():
        np.testing.assert_array_equal(np.asarray(op(x, 2)), np.asarray(op(x, 2, 2)))


def test_a_model_loaded_from_a_keras_file_runs_on_the_plugin(tmp_path, rng):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.AveragePooling2D(2, padding="same"),
            keras.layers.Conv2D(2, 3),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
        ]
    )
    model.save(tmp_path / "model.keras")
    x = rng.standard_normal((2, 12, 12, 3)).astype("float32")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    with plugin.enabled(), xla_window_ops_refuse():
        ours = np.asarray(loaded(x))
    assert compare(ours, np.asarray(model(x)), 1e-6).ok


def _f32(*shape):
    return np.ones(shape, "float32")


# Bad calls of the routed ops: under the plugin each raises an exception that built-in's handlers catch.
BAD_CALLS = [
    ("max-pool-size-0", keras.ops.max_pool, (_f32(1, 4, 1), 0, 1), {}),
    ("max-pool-negative-stride", keras.ops.max_pool, (_f32(1, 4, 1), 2, -1), {}),
    ("max-pool-float-size", keras.ops.max_pool, (_f32(1, 4, 1), 2.0, 1), {}),
    ("max-pool-size-for-another-rank", keras.ops.max_pool, (_f32(1, 4, 1), (2, 2), 1), {}),
    ("max-pool-rank-1", keras.ops.max_pool, (np.ones(4), 2, 2), {}),
    ("max-pool-none-input", keras.ops.max_pool, (None, 2, 2), {}),
    ("max-pool-unknown-padding", keras.ops.max_pool, (_f32(1, 4, 1), 2, 1, "full"), {}),
    ("average-pool-string-size", keras.ops.average_pool, (_f32(1, 4, 1), "2", 1), {}),
    ("average-pool-bool", keras.ops.average_pool, (np.ones((1, 4, 4, 1), bool), 2, 2), {}),
    ("conv-stride-0", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 1, 1)), {"strides": 0}),
    ("conv-dilation-0", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 1, 1)), {"dilation_rate": 0}),
    ("conv-string-strides", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 1, 1)), {"strides": "1"}),
    ("conv-strides-for-another-rank", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 1, 1)), {"strides": (1, 1)}),
    ("conv-string-input", keras.ops.conv, ("abc", _f32(2, 1, 1)), {}),
    ("conv-rank-1", keras.ops.conv, (np.ones(4), np.ones(2)), {}),
    ("conv-kernel-rank", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 2, 1, 1)), {}),
    ("conv-zero-size-kernel", keras.ops.conv, (_f32(1, 4, 4, 1), _f32(0, 3, 1, 1)), {}),
    ("conv-channels", keras.ops.conv, (_f32(1, 4, 1), _f32(2, 3, 1)), {}),
    ("conv-no-output", keras.ops.conv, (_f32(1, 2, 2, 1), _f32(3, 3, 1, 1)), {}),
    ("depthwise-dtypes", keras.ops.depthwise_conv, (_f32(1, 4, 4, 1), np.ones((2, 2, 1, 1), "bfloat16")), {}),
    ("depthwise-channels", keras.ops.depthwise_conv, (_f32(1, 4, 2), _f32(2, 3, 1)), {}),
    (
        "separable-dtypes",
        keras.ops.separable_conv,
        (_f32(1, 4, 4, 1), np.ones((2, 2, 1, 1), "bfloat16"), np.ones((1, 1, 1, 2), "bfloat16")),
        {},
    ),
]


@pytest.mark.quick
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # built-in's own, on a zero stride
@pytest.mark.parametrize("name, op, args, kwargs", BAD_CALLS, ids=[call[0] for call in BAD_CALLS])
def test_bad_calls_raise_what_built_in_handlers_catch_with_our_message(name, op, args, kwargs):
    try:
        op(*args, **kwargs)
    except Exception as error:
        builtin = type(error)
    else:  # Keras 3.12 gives an empty output where later versions raise: ours raises, as the newest
        assert name == "conv-no-output" and minor_version(keras.__version__) < (3, 13), name
        builtin = ValueError
    with plugin.enabled(), pytest.raises(builtin) as ours:
        op(*args, **kwargs)
    assert str(ours.value) and "\n" not in str(ours.value)  # one line


@pytest.mark.quick
@pytest.mark.parametrize(
    "op, args",
    [
        (keras.ops.depthwise_conv, (_f32(1, 2, 2, 1), _f32(3, 3, 1, 2))),
        (keras.ops.separable_conv, (_f32(1, 2, 2, 1), _f32(3, 3, 1, 1), _f32(1, 1, 1, 4))),
        (keras.ops.max_pool, (_f32(1, 2, 2, 1), 3, 3)),
        (keras.ops.average_pool, (_f32(1, 2, 2, 1), 3, 3)),
    ],
)
def test_no_output_position_gives_an_empty_output_as_built_in(op, args):
    with plugin.enabled():
        ours = op(*args)
    assert 0 in ours.shape
    try:
        builtin = op(*args)
    except ValueError:  # older Keras's separable convolution raises here; ours gives the newest's empty output
        assert op is keras.ops.separable_conv and minor_version(keras.__version__) < (3, 15)
    else:
        assert ours.shape == builtin.shape and ours.dtype == builtin.dtype


@pytest.mark.parametrize(
    "op",
    [
        lambda v: keras.ops.conv(v, np.ones((3, 3, 3, 2), "float32"), padding="same"),
        lambda v: keras.ops.max_pool(v, 2, 2),
        lambda v: keras.ops.average_pool(v, 3, 2, "same"),
        lambda v: keras.ops.depthwise_conv(v, np.ones((3, 3, 3, 1), "float32")),
    ],
    ids=["conv", "max-pool", "average-pool-same", "depthwise"],
)
def test_routed_ops_export_with_symbolic_batch_height_and_width_as_built_in(op, rng):
    """What `jax.export` (and so serving a model with a symbolic batch) needs; these raised before."""
    shape = jax.ShapeDtypeStruct((*jax.export.symbolic_shape("b, h, w"), 3), "float32")
    x = rng.standard_normal((2, 9, 10, 3)).astype("float32")
    with plugin.enabled(), xla_window_ops_refuse():
        exported = jax.export.export(jax.jit(lambda v: op(v)))(shape)
    assert compare(np.asarray(exported.call(x)), np.asarray(op(x)), 1e-6).ok
