"""Which algorithm computes a correlation (`_plan.Algorithm`): chosen in one place.

`choose` is called with the shapes, tactics and policy a correlation is
traced with, by its forward and its backward pass alike, so both always
take the same algorithm. It says why, so a test or the benchmark can print
the reason.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .algorithms.banded_rows import uses_band
from .algorithms.channelwise import uses_channelwise
from .algorithms.kn2row import can_kn2row, uses_kn2row
from .algorithms.minimal_filtering import uses_winograd
from .bounds import fast_tile
from .geometry import ConvGeometry, is_static
from .plan import Algorithm, Policy, Tactics


class Choice(NamedTuple):
    """An algorithm, why it was chosen, what runs instead when an operand it mixes is not finite, and its tactics.

    `tactics` are the platform's, with minimal filtering's tile set to the one it takes.
    """

    algorithm: Algorithm
    reason: str
    fallback: Algorithm | None = None
    tactics: Tactics = Tactics()


def choose(
    padded_shape: Sequence[int],
    kernel_shape: Sequence[int],
    geometry: ConvGeometry,
    tactics: Tactics,
    dtype: jnp.dtype,
    policy: Policy | Algorithm = Policy.EXACT,
    out_dtype: jnp.dtype | None = None,
    autotune: str | bool = False,
) -> Choice:
    """The algorithm `policy` and `tactics` take for a correlation of a padded `(N, *Sp, C)` input with a
    `(*K, C/G, F)` kernel, in operands of `dtype`, rounded to `out_dtype` (by default `dtype`).

    With `autotune`, a cache file: the one of those the policy allows that
    ran fastest here (`_autotune.tuned`), where the shapes are static.

    >>> choose((128, 28, 28, 1), (3, 3, 1, 4), ConvGeometry((3, 3), (1, 1), (1, 1), 1, (26, 26)), Tactics(),
    ...        jnp.float32).algorithm
    <Algorithm.BANDED_ROWS: 'banded_rows'>
    """
    shapes = (padded_shape, kernel_shape, geometry)
    if isinstance(policy, Algorithm):
        return _named(policy, shapes, tactics, dtype)
    out_dtype = out_dtype or dtype
    default = _by_shape(shapes, tactics, dtype, policy, out_dtype)
    if autotune and is_static((*padded_shape, *geometry.out_spatial)):
        from ._autotune import tuned

        candidates = allowed(shapes, tactics, dtype, policy, out_dtype)
        return tuned(candidates, default, shapes, (dtype, out_dtype), policy, autotune)
    return default


def _by_shape(shapes: tuple, tactics: Tactics, dtype: jnp.dtype, policy: Policy, out_dtype: jnp.dtype) -> Choice:
    """The chooser's own pick: the first of the rules below that holds."""
    if uses_channelwise(*shapes, tactics.max_unrolled_taps):
        return Choice(Algorithm.CHANNELWISE, "one input channel a group, and a window of few taps", None, tactics)
    if policy is Policy.FAST and (choice := _fast(shapes, tactics, dtype, out_dtype)):
        return choice
    if uses_kn2row(*shapes):
        reason = "at most 16 filters, and at most a quarter of the input's channels"
        return Choice(Algorithm.KN2ROW, reason, Algorithm.TAP_LOOP, tactics)
    if uses_band(*shapes, tactics.band_max_weights):
        reason = f"a 2-D band of at most {tactics.band_max_weights} weights"
        return Choice(Algorithm.BANDED_ROWS, reason, Algorithm.TAP_LOOP, tactics)
    return Choice(Algorithm.IM2COL, "the general case", None, tactics)


def allowed(shapes: tuple, tactics: Tactics, dtype: jnp.dtype, policy: Policy, out_dtype: jnp.dtype) -> list[Choice]:
    """Every algorithm `policy` allows and `tactics` let compute these shapes: what autotuning times."""
    choices = [
        Choice(algorithm, "timed fastest here", fallback, tactics)
        for algorithm, fallback in (
            (Algorithm.IM2COL, None),
            (Algorithm.TAP_LOOP, None),
            (Algorithm.BANDED_ROWS, Algorithm.TAP_LOOP),
            (Algorithm.CHANNELWISE, None),
            (Algorithm.KN2ROW, Algorithm.TAP_LOOP),
        )
        if _CAN[algorithm][1](shapes, tactics, dtype)
        and (algorithm is not Algorithm.BANDED_ROWS or tactics.band_max_weights > 0)
    ]
    if policy is Policy.FAST and (choice := _fast(shapes, tactics, dtype, out_dtype)):
        choices.append(choice._replace(reason="timed fastest here"))
    return choices


def _fast(shapes: tuple, tactics: Tactics, dtype: jnp.dtype, out_dtype: jnp.dtype) -> Choice | None:
    """Minimal filtering, where the `fast` policy allows it: float32 operands, and a tile whose bound holds."""
    geometry = shapes[2]
    channels = max(shapes[1][-2:])
    tile = 0
    if jnp.dtype(dtype) == jnp.float32 and jnp.issubdtype(out_dtype, jnp.floating):
        tile = fast_tile(len(geometry.window), max(geometry.window), out_dtype, channels, tactics.winograd_tile)
    tactics = tactics._replace(winograd_tile=tile)
    if not uses_winograd(*shapes, tactics, dtype):
        return None
    reason = f"the fast policy: F({tile}, r)'s measured bound holds at {channels} channels in {jnp.dtype(out_dtype)}"
    return Choice(Algorithm.MINIMAL_FILTERING, reason, Algorithm.TAP_LOOP, tactics)


# What each algorithm can compute, whatever the tactics' limits: the condition a named algorithm must meet.
_CAN = {
    Algorithm.IM2COL: ("any convolution", lambda shapes, tactics, dtype: True),
    Algorithm.TAP_LOOP: ("a convolution of one group", lambda shapes, tactics, dtype: shapes[2].groups == 1),
    Algorithm.BANDED_ROWS: (
        "a 2-D convolution of one group and static shapes",
        lambda shapes, tactics, dtype: uses_band(*shapes, math.inf),
    ),
    Algorithm.CHANNELWISE: (
        "one input channel a group, and two groups or more",
        lambda shapes, tactics, dtype: uses_channelwise(*shapes, math.inf),
    ),
    Algorithm.KN2ROW: (
        "a convolution of one group, more than one tap and static shapes",
        lambda shapes, tactics, dtype: can_kn2row(*shapes),
    ),
    Algorithm.MINIMAL_FILTERING: (
        "floats, one group, stride 1, 3 taps an axis (5 in 1-D), static shapes, "
        "and Tactics.winograd_min_channels in and out",
        lambda shapes, tactics, dtype: uses_winograd(*shapes, tactics, dtype),
    ),
}


def _named(algorithm: Algorithm, shapes: tuple, tactics: Tactics, dtype: jnp.dtype) -> Choice:
    if algorithm is Algorithm.MINIMAL_FILTERING and not tactics.winograd_tile:  # named: F(4, r) on any platform
        tactics = tactics._replace(winograd_tile=4)
    needs, can = _CAN[algorithm]
    if not can(shapes, tactics, dtype):
        raise ValueError(
            f"The plan names the algorithm {algorithm.value!r}, which needs {needs}. Received: "
            f"input {tuple(shapes[0])} (padded), kernel {tuple(shapes[1])}, {shapes[2]}, dtype "
            f"{jnp.dtype(dtype).name}"
        )
    guarded = (Algorithm.BANDED_ROWS, Algorithm.MINIMAL_FILTERING, Algorithm.KN2ROW)
    fallback = Algorithm.TAP_LOOP if algorithm in guarded else None
    return Choice(algorithm, "named by the plan", fallback, tactics)


def algorithms_run(f: Callable[..., Any], *args: Any, **kwargs: Any) -> set[Algorithm]:
    """The algorithms `f(*args, **kwargs)` runs on JAX's default platform, read from its jaxpr: each runs in
    a scope of its name, and of a choice per platform (`plan.on_each_platform`) only this one's counts.

    Fallbacks traced beside a guarded algorithm count too; gradients count
    where `f` computes them.

    >>> import numpy as np
    >>> from keras_cnn_ref.kernels import conv
    >>> sorted(a.value for a in algorithms_run(conv, np.ones((1, 8, 8, 2), "float32"), np.ones((3, 3, 2, 4), "float32")))
    ['banded_rows', 'tap_loop']
    """
    names = {algorithm.value: algorithm for algorithm in Algorithm}
    here = jax.default_backend()
    found: set[Algorithm] = set()

    def visit(jaxpr) -> None:
        for eqn in jaxpr.eqns:
            found.update(names[part] for part in str(eqn.source_info.name_stack).split("/") if part in names)
            platforms = eqn.params.get("branches_platforms")
            for name, param in eqn.params.items():
                subs = param if isinstance(param, (tuple, list)) else (param,)
                if name == "branches" and platforms:
                    index = next((i for i, p in enumerate(platforms) if p is None or here in p), 0)
                    subs = (subs[index],)
                for sub in subs:
                    if hasattr(sub, "eqns") or hasattr(sub, "jaxpr"):
                        visit(getattr(sub, "jaxpr", sub))

    visit(jax.make_jaxpr(functools.partial(f, **kwargs))(*args).jaxpr)
    return found
