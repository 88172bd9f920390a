"""A differential fuzz of the plugin's ops against built-in Keras, written with Hypothesis.

Each example is one call of `keras.ops.conv`, `depthwise_conv`,
`separable_conv`, `max_pool` or `average_pool`: a rank (1-3 spatial axes),
a dtype (floats of 16, 32 and 64 bits, integers, booleans), NaN or Inf
planted in the input or not, and eager or jitted. It runs with the plugin
and without; both must fail alike (the plugin's exception an instance of
built-in's type) or agree, in their values and in the gradients of a seeded
random cotangent:

- max pooling, and every integer and boolean result, bit for bit (an
  integer average is a float, and built-in's jitted division is not always
  correctly rounded, so it is a float result);
- float results within `compare`'s normwise tolerance of their dtype, with
  NaN and Inf in the same places;
- 16-bit average pooling within half a unit in the last place of the exact
  average (built-in run in float32 on the same values), since built-in's
  own 16-bit averages are 1-4 units off it and ours are not.

The search is derandomized (seeded by the test's name) with a fixed budget,
so every run draws the same calls. A failure prints the call as a dict, a
reproducer: `run_call(call)` repeats it.
"""

import jax
import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from keras_cnn_ref import plugin
from keras_cnn_ref.compare import TOLERANCES, compare

OPS = ("conv", "depthwise_conv", "separable_conv", "max_pool", "average_pool")
DTYPES = ("float32", "float16", "bfloat16", "int8", "int32", "uint8", "bool")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def calls(draw, ops=OPS, dtypes=DTYPES, specials=(None, "nan", "inf"), x64=False) -> dict:
    """One call: the op, its arguments' shapes and settings, and a seed for their values.

    Windows reach 5 taps an axis: 125 in 3-D, past the taps the kernels
    unroll (`MAX_UNROLLED_TAPS`, `Tactics.max_unrolled_taps`).
    """
    op, rank = draw(st.sampled_from(ops)), draw(st.integers(1, 3))
    small = st.integers(1, 3)
    call = {
        "op": op,
        "dtype": draw(st.sampled_from(dtypes)),
        "x64": x64,
        "batch": draw(st.integers(1, 2)),
        "spatial": draw(st.lists(st.integers(1, 8), min_size=rank, max_size=rank)),
        "window": draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)),
        "strides": draw(st.lists(small, min_size=rank, max_size=rank)),
        "padding": draw(st.sampled_from(["valid", "same"])),
        "data_format": draw(st.sampled_from(["channels_last", "channels_first"])),
        "special": draw(st.sampled_from(specials)),
        "jit": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }
    if op.endswith("conv"):
        call.update(
            channels=draw(small),
            filters=draw(small),
            dilation=draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank)),
        )
        if op == "conv":
            call["groups"] = draw(st.sampled_from([1, call["channels"]]))
    else:
        call["channels"] = draw(small)
    return call


def _values(rng, shape, dtype: str, special=None) -> np.ndarray:
    """Random values of `dtype`: integers over their whole range (so sums wrap), floats normal."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    values = rng.standard_normal(shape)
    if special and values.size:
        values.flat[rng.integers(values.size, size=max(1, values.size // 8))] = np.nan if special == "nan" else np.inf
    return values.astype(keras.backend.standardize_dtype(dtype))


def _operands(call: dict) -> tuple:
    """The call's arrays, drawn from its seed, and the op as a function of them."""
    rng, dtype, rank = np.random.default_rng(call["seed"]), call["dtype"], len(call["spatial"])
    first = call["data_format"] == "channels_first"
    x_shape = (
        call["batch"],
        *((call["channels"], *call["spatial"]) if first else (*call["spatial"], call["channels"])),
    )
    settings_ = {"padding": call["padding"], "data_format": call["data_format"]}
    x = _values(rng, x_shape, dtype, call["special"] if dtype.startswith(("float", "bfloat")) else None)
    op = getattr(keras.ops, call["op"])
    if call["op"].endswith("pool"):
        return (x,), lambda a: op(a, tuple(call["window"]), tuple(call["strides"]), **settings_)
    settings_.update(strides=tuple(call["strides"]), dilation_rate=tuple(call["dilation"]))
    if call["op"] == "conv":
        groups = call["groups"]
        kernel = _values(rng, (*call["window"], call["channels"] // groups, call["filters"] * groups), dtype)
        return (x, kernel), lambda a, k: op(a, k, **settings_)
    depthwise = _values(rng, (*call["window"], call["channels"], call["filters"]), dtype)
    if call["op"] == "depthwise_conv":
        return (x, depthwise), lambda a, k: op(a, k, **settings_)
    pointwise = _values(rng, (*(1,) * rank, call["channels"] * call["filters"], 2), dtype)
    return (x, depthwise, pointwise), lambda a, k, p: op(a, k, p, **settings_)


def _group_by_group(call: dict):
    """Built-in's grouped (depthwise, separable) convolution as one convolution a group, side by side.

    XLA's float64 grouped convolution on CPU spreads a NaN from one group to
    every other (0 * NaN); each group alone does not. So where NaN or Inf
    are planted, built-in is taken a group at a time.
    """
    axis = 1 if call["data_format"] == "channels_first" else -1
    settings_ = {key: call[key] for key in ("padding", "data_format")}
    settings_.update(strides=tuple(call["strides"]), dilation_rate=tuple(call["dilation"]))

    def function(x, kernel, *pointwise):
        if call["op"] != "conv":  # a depthwise (*K, C, M) kernel: channel c alone, its M filters
            groups, kernel = x.shape[axis], kernel.reshape(*kernel.shape[:-2], 1, -1)
        else:
            groups = x.shape[axis] // kernel.shape[-2]
        out = jax.numpy.concatenate(
            [
                keras.ops.conv(part, kernel_part, **settings_)
                for part, kernel_part in zip(jax.numpy.split(x, groups, axis), jax.numpy.split(kernel, groups, -1))
            ],
            axis,
        )
        return keras.ops.conv(out, *pointwise, data_format=call["data_format"]) if pointwise else out

    return function


def _gradients(function, arrays, jit: bool, seed: int):
    """The output under `jax.vjp`, then the gradients of a seeded random cotangent, as NumPy arrays."""

    def output_and_gradients(*a):
        out, vjp = jax.vjp(function, *a)
        cotangent = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
        return out, *vjp(cotangent)

    results = (jax.jit(output_and_gradients) if jit else output_and_gradients)(*arrays)
    return [np.asarray(result.astype("float32") if result.dtype == "bfloat16" else result) for result in results]


def _outcome(function, arrays, jit: bool):
    """The result as a NumPy array, or the exception raised."""
    try:
        # A fresh function each time: jit caches traces by function, and the plugin acts when JAX traces.
        out = (jax.jit(lambda *a: function(*a)) if jit else function)(*arrays)
        return np.asarray(out.astype("float32") if out.dtype == "bfloat16" else out), str(out.dtype)
    except Exception as error:
        return error, None


def run_call(call: dict) -> str:
    """Runs `call` with the plugin and without, and asserts that they agree (see the module's docstring).

    Returns what happened, for the fuzz's statistics.
    """
    with jax.enable_x64(call["x64"]):
        return _agree(call)


def _fuzz(call: dict) -> None:
    note(f"reproduce: from tests.test_plugin_fuzz import run_call; run_call({call!r})")
    event(run_call(call))


def _agree(call: dict) -> str:
    arrays, function = _operands(call)
    builtin, builtin_dtype = _outcome(function, arrays, call["jit"])
    with plugin.enabled():
        ours, our_dtype = _outcome(function, arrays, call["jit"])
    if isinstance(builtin, Exception):
        assert isinstance(ours, type(builtin)), f"built-in raised {builtin!r}, the plugin gave {ours!r}"
        return f"{call['op']}: both raise"
    assert not isinstance(ours, Exception), f"built-in accepted the call, the plugin raised {ours!r}"
    assert (ours.shape, our_dtype) == (builtin.shape, builtin_dtype)
    dtype, exact = call["dtype"], call["op"] == "max_pool" or not our_dtype.startswith(("float", "bfloat"))
    grouped = call["op"] in ("depthwise_conv", "separable_conv") or call.get("groups", 1) > 1
    reference = _group_by_group(call) if grouped and call["special"] and ours.size else function
    tolerance = 0.0 if exact else TOLERANCES.get(our_dtype, 1e-12)
    if call["op"] == "average_pool" and dtype in ("float16", "bfloat16"):
        exact_average, _ = _outcome(function, [a.astype("float32") for a in arrays], call["jit"])
        half_ulp = 2.0 ** -(jax.numpy.finfo(dtype).nmant + 1)
        finite = np.isfinite(exact_average)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(exact_average))
        assert np.all(np.abs(ours[finite] - exact_average[finite]) <= half_ulp * np.abs(exact_average[finite]) * 1.001)
    else:
        result = compare(ours, _outcome(reference, arrays, call["jit"])[0], tolerance, names=("plugin", "builtin"))
        assert result.ok, result.detail
    if dtype.startswith(("float", "bfloat")) and ours.size:  # the output under `jax.vjp`, and the gradients
        expected = _gradients(reference, arrays, call["jit"], call["seed"])
        with plugin.enabled():
            grads = _gradients(function, arrays, call["jit"], call["seed"])
        for name, grad, expected_grad in zip(
            ["output"] + [f"gradient {i}" for i in range(len(arrays))], grads, expected, strict=True
        ):
            if name == "output" and call["op"] == "average_pool" and dtype in ("float16", "bfloat16"):
                continue  # checked above, against the exact average
            # A max pool's gradient is exact but where overlapping windows add up 16-bit floats: ours in float32.
            slack = TOLERANCES[dtype] if name != "output" and dtype in ("float16", "bfloat16") else tolerance
            result = compare(grad, expected_grad, max(tolerance, slack), names=("plugin", "builtin"))
            assert result.ok, f"{name} under jax.vjp: {result.detail}"
    return f"{call['op']}: both compute"


@pytest.mark.heavy
@FUZZ
@given(calls())
def test_the_plugin_agrees_with_built_in_keras(call):
    _fuzz(call)


@pytest.mark.heavy
@settings(FUZZ, max_examples=100)
@given(calls(ops=("max_pool", "average_pool"), dtypes=("float32", "bfloat16"), specials=("nan", "inf")))
def test_pooling_agrees_with_built_in_keras_on_nan_and_inf(call):
    """Windows of up to 125 taps, folded in a loop, where a NaN must win the maximum and yet be passed by the pick."""
    _fuzz(call)


@pytest.mark.heavy
@settings(FUZZ, max_examples=50)
@given(calls(dtypes=("float64", "int64", "float32"), x64=True))
def test_the_plugin_agrees_with_built_in_keras_in_64_bits(call):
    _fuzz(call)


FOUND = [  # calls the fuzz found, kept: where built-in is the less exact side, and where ours was wrong
    {
        "op": "depthwise_conv",
        "dtype": "float64",
        "x64": True,
        "batch": 1,
        "spatial": [1, 1],
        "window": [1, 1],
        "strides": [1, 1],
        "padding": "valid",
        "data_format": "channels_last",
        "special": "nan",
        "jit": False,
        "seed": 0,
        "channels": 2,
        "filters": 1,
        "dilation": [1, 1],
    },  # XLA's float64 groups share a NaN
    {
        "op": "average_pool",
        "dtype": "float16",
        "x64": False,
        "batch": 1,
        "spatial": [3, 1],
        "window": [3, 1],
        "strides": [1, 1],
        "padding": "valid",
        "data_format": "channels_last",
        "special": None,
        "jit": True,
        "seed": 0,
        "channels": 2,
    },  # built-in's 16-bit average is a unit off
    {
        "op": "average_pool",
        "dtype": "int8",
        "x64": False,
        "batch": 1,
        "spatial": [3, 1],
        "window": [3, 1],
        "strides": [1, 1],
        "padding": "same",
        "data_format": "channels_last",
        "special": None,
        "jit": True,
        "seed": 9,
        "channels": 1,
    },  # built-in's jitted division is not correctly rounded
    {
        "op": "max_pool",
        "dtype": "float32",
        "x64": False,
        "batch": 1,
        "spatial": [2, 4],
        "window": [1, 2],
        "strides": [2, 2],
        "padding": "valid",
        "data_format": "channels_last",
        "special": None,
        "jit": False,
        "seed": 0,
        "channels": 1,
    },  # ours was wrong: one output on a strided axis dropped its stride, then its crop
]


@pytest.mark.parametrize("call", FOUND, ids=lambda call: f"{call['op']}-{call['dtype']}-{call['special']}")
def test_calls_the_fuzz_found(call):
    run_call(call)
