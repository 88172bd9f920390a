"""The plan: how a convolution is computed, fixed before JAX traces it.

Everything that changes the compiled program is in a `Plan`, a static
argument of the kernel (so it is part of the jit cache key, as `precision`
is for `lax.dot_general`):

- The policy, which algorithms may run (`Policy`, or one `Algorithm`):
  `exact`, the default, allows only those whose round-off is the same at
  every output position; `fast` also allows minimal filtering where its
  measured error bound holds. A plan built without one takes the current
  policy (`set_policy`, `policy`), which `jax.jit` sees as it sees
  `jax.default_matmul_precision`: a program traced under one policy is
  never reused under another.

- `Tactics` per platform: im2col's chunk bytes, the band's limit and whether
  16-bit operands are widened before their products. The CPU's and the
  accelerator's tactics are both traced, under `lax.platform_dependent`, and
  the lowering keeps only the branch of the platform it lowers for. A program
  exported on this CPU for `("cpu", "cuda", "tpu")` carries both, and each
  platform runs its own.
- The operands' sharding: the mesh, the mesh axes the batch is split over
  and those the kernel's filters are split over (Keras's `DataParallel` and
  `ModelParallel`). The correlation then runs inside each shard
  (`jax.shard_map`, manual over those axes only, any other axis left to
  XLA's partitioner), so its loops, guards and layouts never cross devices.
  The only collectives are the ones XLA's own convolution needs, placed at
  the shard's edge on operands in their final shape: the input gathered over
  the filter axes, and the sums of the kernel gradient over the batch axes
  and of the input gradient over the filter axes.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import math
import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh, PartitionSpec


class Algorithm(enum.Enum):
    """The algorithms a correlation may run (the docs' "How it works" has a page for each)."""

    IM2COL = "im2col"  # every tap's window side by side, one matrix product
    BANDED_ROWS = "banded_rows"  # whole input rows times a banded kernel matrix, for thin 2-D layers
    TAP_LOOP = "tap_loop"  # the definition, a tap a step: the fallback on Inf or NaN
    CHANNELWISE = "channelwise"  # depthwise, elementwise: each window times its weights
    MINIMAL_FILTERING = "minimal_filtering"  # Winograd's transforms, fewer products
    KN2ROW = "kn2row"  # multiply first, then add the taps' shifted products: few filters


class Policy(enum.Enum):
    """Which algorithms the chooser may take (`_choice.choose`); a plan may also name one `Algorithm`."""

    EXACT = "exact"  # the round-off the same at every output position: ties stay ties, as built-in's
    FAST = "fast"  # also minimal filtering, with the largest tile whose measured error bound holds


PolicyLike = Policy | Algorithm | str


def as_policy(value: PolicyLike) -> Policy | Algorithm:
    """`value` as a `Policy` or an `Algorithm`, from either or from its name.

    >>> as_policy("fast"), as_policy("im2col")
    (<Policy.FAST: 'fast'>, <Algorithm.IM2COL: 'im2col'>)
    """
    if isinstance(value, (Policy, Algorithm)):
        return value
    names = {member.value: member for member in (*Policy, *Algorithm)}
    if value not in names:
        raise ValueError(f"A policy is one of {', '.join(map(repr, names))}. Received: policy={value!r}")
    return names[value]


class Setting(NamedTuple):
    """What plans built without a policy take: the policy, and the autotune cache file (False: no autotuning)."""

    policy: Policy | Algorithm = Policy.EXACT
    autotune: str | bool = False


def _setting(value: PolicyLike, autotune: bool) -> Setting:
    """The file is resolved now, so that it is part of the jit cache key: another file, another program."""
    from ._autotune import cache_path

    return Setting(as_policy(value), str(cache_path()) if autotune else False)


def _set_global(setting: Setting) -> None:
    """JAX 0.9 and later give a user context `set_global`; JAX 0.8's has it only on the config beneath."""
    (_CURRENT if hasattr(_CURRENT, "set_global") else _CURRENT._obj).set_global(setting)


def get_policy() -> Policy | Algorithm:
    """The policy that plans built without one take, in this thread.

    >>> get_policy()
    <Policy.EXACT: 'exact'>
    """
    return _CURRENT.value.policy


def get_autotune() -> str | bool:
    """The autotune cache file plans built without a policy read and write (`_autotune`), or False."""
    return _CURRENT.value.autotune


def set_policy(value: PolicyLike, *, autotune: bool = False) -> None:
    """Sets the process's policy: `"exact"` (the default), `"fast"`, or one algorithm's name.

    With `autotune`, the first call of each convolution times the algorithms
    the policy allows, and a cache on disk keeps the fastest
    (`_autotune.py`). A jitted function called after this is traced again.
    """
    _set_global(_setting(value, autotune))


def policy(value: PolicyLike, *, autotune: bool = False) -> contextlib.AbstractContextManager:
    """A context manager that sets the policy (and `autotune`, as `set_policy`) inside its block, in this thread.

    >>> with policy("fast"):
    ...     get_policy()
    <Policy.FAST: 'fast'>
    """
    return _CURRENT(_setting(value, autotune))


# The process's setting, part of every jit cache key. KERAS_CNN_REF_POLICY and
# KERAS_CNN_REF_AUTOTUNE (1) set it when this module is imported.
_CURRENT = jax.make_user_context(
    _setting(os.environ.get("KERAS_CNN_REF_POLICY", "exact"), os.environ.get("KERAS_CNN_REF_AUTOTUNE") == "1")
)


class Tactics(NamedTuple):
    """How one platform computes a correlation.

    Attributes:
        chunk_bytes: im2col lays out at most this many bytes of columns per
            step of its loop over the batch (at least one image per step).
        band_max_weights: 2-D convolutions with one group take banded rows
            when their band holds at most this many weights; 0 never does.
        narrow_operands: 16-bit floats are multiplied as they are (into
            float32 sums) rather than widened to float32 first.
        max_unrolled_taps: im2col lays out a window of more taps a block of
            taps at a time, in a loop, so that its compile time follows the
            block's size rather than the window's.
        winograd_tile: the largest tile minimal filtering may take under the
            `fast` policy, outputs per tile along an axis: 4 (F(4, r)) or 2
            (F(2, r)), the largest whose error bound holds; 0 never takes
            it. A plan that names minimal filtering takes this tile.
        winograd_min_channels: minimal filtering takes kernels with at
            least this many channels in and out.
    """

    chunk_bytes: int = 4 * 2**20
    band_max_weights: int = 2**16
    narrow_operands: bool = False
    max_unrolled_taps: int = 64
    winograd_tile: int = 4
    winograd_min_channels: int = 16


# A CPU keeps columns in its caches (a few MiB), takes small images as banded
# rows and widens 16-bit floats, which it has no fast products for. An
# accelerator (GPU, TPU) takes a whole batch's columns in one launch, since
# each step of a loop there is launches of its own, no band (its guard would
# read a predicate back to the host), and 16-bit operands as they are.
# Only a CPU takes minimal filtering, and only under the `fast` policy.
CPU = Tactics()
ACCELERATOR = Tactics(chunk_bytes=2**30, band_max_weights=0, narrow_operands=True, winograd_tile=0)


class Plan(NamedTuple):
    """The static choices of one convolution: each platform's tactics, the operands' sharding, and the policy.

    Attributes:
        cpu: the tactics of a program that runs on a CPU.
        accelerator: the tactics of a program that runs anywhere else.
        mesh: the device mesh the operands are sharded over, or None.
        batch_axes: the names of the `mesh` axes that split the batch.
        filter_axes: the names of the `mesh` axes that split the kernel's
            filters (its last axis), and so the output's channels.
        policy: which algorithms may run (`Policy`), or the one that
            does (`Algorithm`); None takes the current policy (`policy`,
            `set_policy`) when the convolution is traced.
        autotune: the cache file of timings the first call of each
            convolution makes of the algorithms the policy allows, or False
            for none (`set_policy`); None takes the current setting.

    >>> Plan(cpu=ACCELERATOR).cpu.band_max_weights  # as a GPU would, run here
    0
    """

    cpu: Tactics = CPU
    accelerator: Tactics = ACCELERATOR
    mesh: Mesh | None = None
    batch_axes: tuple[str, ...] = ()
    filter_axes: tuple[str, ...] = ()
    policy: Policy | Algorithm | None = None
    autotune: str | bool | None = None

    def resolved(self) -> Plan:
        """This plan with its policy and autotune: its own, or else the current ones (`get_policy`)."""
        return self._replace(
            policy=get_policy() if self.policy is None else self.policy,
            autotune=get_autotune() if self.autotune is None else self.autotune,
        )

    def check(self) -> None:
        """Raises a ValueError unless the axes are the mesh's, and no axis splits both the batch and the filters."""
        names = () if self.mesh is None else tuple(self.mesh.axis_names)
        unknown = [axis for axis in (*self.batch_axes, *self.filter_axes) if axis not in names]
        if unknown or set(self.batch_axes) & set(self.filter_axes):
            raise ValueError(
                "A plan's batch_axes and filter_axes must be distinct axes of its mesh. Received: "
                f"batch_axes={self.batch_axes}, filter_axes={self.filter_axes}, mesh axes={names}"
            )

    def shards(self, axes: tuple[str, ...]) -> int:
        """How many shards `axes` of the mesh split an array axis into (1 without a mesh)."""
        return 1 if self.mesh is None else math.prod(self.mesh.shape[axis] for axis in axes)


def sum_dtype(operand: jax.Array) -> jnp.dtype:
    """Products of 16-bit floats are summed in float32 (`operand_dtype_for`); other dtypes in their own."""
    if jnp.issubdtype(operand.dtype, jnp.floating):
        return jnp.promote_types(operand.dtype, jnp.float32)
    return operand.dtype


def operand_dtype_for(dtype: jnp.dtype, tactics: Tactics) -> jnp.dtype:
    """The dtype the products take their operands in.

    A CPU widens 16-bit floats to float32 first. An accelerator (GPU, TPU)
    multiplies them as they are (`Tactics.narrow_operands`): each product of
    two 16-bit floats is exact in float32, its sums are float32 all the same,
    and its columns move half the bytes. The 3x3 56x56x64 bfloat16 forward
    pass ran 1.2x faster on an H100.

    Integers (and complex numbers) keep their own dtype: their sums wrap
    around as XLA's integer convolution's do, exactly, where float32 would
    round large ones and saturate on the way back. Booleans are summed as
    int32, and a sum is True where it is not zero, as XLA's are.
    """
    if jnp.issubdtype(dtype, jnp.floating):
        return dtype if tactics.narrow_operands else jnp.promote_types(dtype, jnp.float32)
    return jnp.dtype(jnp.int32) if dtype == jnp.bool_ else jnp.dtype(dtype)


def on_each_platform(f: Callable[..., jax.Array], plan: Plan, *args) -> jax.Array:
    """`f(*args, tactics=...)` with the tactics of whichever platform the program is lowered for.

    An autotuned plan takes only the tactics of the platform it runs on:
    its timings hold there, and nowhere else.
    """
    if plan.autotune:
        return f(*args, tactics=plan.cpu if jax.default_backend() == "cpu" else plan.accelerator)
    if plan.cpu == plan.accelerator:
        return f(*args, tactics=plan.cpu)
    return lax.platform_dependent(
        *args, cpu=functools.partial(f, tactics=plan.cpu), default=functools.partial(f, tactics=plan.accelerator)
    )


def per_shard(
    f: Callable[..., jax.Array], plan: Plan, batch: int, filters: int, groups: int
) -> Callable[..., jax.Array]:
    """`f(x, kernel, bias)`, run on each shard of the operands where `plan` says they are sharded.

    `x` is a channels-last batch, `kernel` `(*K, C/G, F)` and `bias` `(F,)`
    or None; the output is `(N, *O, F)`. The batch axes split `x` and the
    output along the batch; the filter axes split the kernel, the bias and
    the output along the filters, and every filter shard sees all of `x`'s
    channels. Axes that do not divide what they split are left to XLA's
    partitioner, as are the filter axes of a grouped convolution.
    """
    batch_axes = plan.batch_axes if batch % plan.shards(plan.batch_axes) == 0 else ()
    filter_axes = plan.filter_axes if groups == 1 and filters % plan.shards(plan.filter_axes) == 0 else ()
    if plan.shards(batch_axes) * plan.shards(filter_axes) == 1:
        return f

    def sharded(x, kernel, bias):
        filter_spec = PartitionSpec(*(None,) * (kernel.ndim - 1), filter_axes or None)
        in_specs = (PartitionSpec(batch_axes or None), filter_spec, PartitionSpec(filter_axes or None))
        out_specs = PartitionSpec(batch_axes or None, *(None,) * (x.ndim - 2), filter_axes or None)
        return jax.shard_map(
            f,
            mesh=plan.mesh,
            in_specs=in_specs,
            out_specs=out_specs,
            axis_names={*batch_axes, *filter_axes},
            check_vma=False,
        )(x, kernel, bias)

    return sharded
