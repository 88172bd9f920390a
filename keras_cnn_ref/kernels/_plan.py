"""The plan: how a convolution is computed, fixed before JAX traces it.

Everything that changes the compiled program, and not its values, is in a
`Plan`, a static argument of the kernel (so it is part of the jit cache key,
as `precision` is for `lax.dot_general`):

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

import enum
import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
from jax import lax
from jax.sharding import Mesh, PartitionSpec


class Algorithm(enum.Enum):
    """The algorithms a correlation may run (the docs' "How it works" has a page for each)."""

    IM2COL = "im2col"  # every tap's window side by side, one matrix product (_im2col.py)
    BANDED_ROWS = "banded_rows"  # whole input rows times a banded kernel matrix, for thin 2-D layers (_banded.py)
    TAP_LOOP = "tap_loop"  # the definition, a tap a step: the fallback on Inf or NaN (_correlate.py)
    CHANNELWISE = "channelwise"  # depthwise, elementwise: each window times its weights (_channelwise.py)
    MINIMAL_FILTERING = "minimal_filtering"  # Winograd's transforms, fewer products (_winograd.py)


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
        winograd_tile: minimal filtering's outputs per tile along an axis,
            2 (F(2, r)) or 4 (F(4, r)); 0 never takes it.
        winograd_min_channels: minimal filtering takes kernels with at
            least this many channels in and out.
        algorithm: the one algorithm to run, or None to choose by shape
            (`_choice.choose`). A convolution it cannot compute raises a
            ValueError.
    """

    chunk_bytes: int = 8 * 2**20
    band_max_weights: int = 2**16
    narrow_operands: bool = False
    max_unrolled_taps: int = 64
    winograd_tile: int = 0
    winograd_min_channels: int = 16
    algorithm: Algorithm | None = None


# A CPU keeps columns in its caches (a few MiB), takes small images as banded
# rows and widens 16-bit floats, which it has no fast products for. An
# accelerator (GPU, TPU) takes a whole batch's columns in one launch, since
# each step of a loop there is launches of its own, no band (its guard would
# read a predicate back to the host), and 16-bit operands as they are.
# Neither takes minimal filtering unless asked (`Tactics.winograd_tile`).
CPU = Tactics()
ACCELERATOR = Tactics(chunk_bytes=2**30, band_max_weights=0, narrow_operands=True)


class Plan(NamedTuple):
    """The static choices of one convolution: each platform's tactics, and the operands' sharding.

    Attributes:
        cpu: the tactics of a program that runs on a CPU.
        accelerator: the tactics of a program that runs anywhere else.
        mesh: the device mesh the operands are sharded over, or None.
        batch_axes: the names of the `mesh` axes that split the batch.
        filter_axes: the names of the `mesh` axes that split the kernel's
            filters (its last axis), and so the output's channels.

    >>> Plan(cpu=ACCELERATOR).cpu.band_max_weights  # as a GPU would, run here
    0
    """

    cpu: Tactics = CPU
    accelerator: Tactics = ACCELERATOR
    mesh: Mesh | None = None
    batch_axes: tuple[str, ...] = ()
    filter_axes: tuple[str, ...] = ()

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


def on_each_platform(f: Callable[..., jax.Array], plan: Plan, *args) -> jax.Array:
    """`f(*args, tactics=...)` with the tactics of whichever platform the program is lowered for."""
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
