"""DistributedDataParallel plumbing for training under `torchrun --nproc_per_node=N`.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a no-op for one
process. Rank 0 is the only one that writes (checkpoints, the store, the terminal); the others
receive the label snapshot from it, so every rank trains on the same data even while a person
keeps editing. Decisions that end a loop (Stop, the time limit, a NaN loss) are all-reduced so
every rank leaves at the same iteration and none waits forever in a collective call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from labeler.core.errors import LabelerError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class DistributedError(LabelerError, ValueError):
    """torchrun's environment does not describe a usable rank layout."""


def from_environment(environ=None) -> Dist:
    """The rank layout torchrun describes in the environment (one process when it does not).
    Raises DistributedError for values that are not integers or a rank outside the world."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise DistributedError("RANK, LOCAL_RANK and WORLD_SIZE must be integers") from None
    if world > 1 and not 0 <= rank < world:
        raise DistributedError(f"RANK={rank} is outside WORLD_SIZE={world}")
    return Dist(rank, world, local) if world > 1 else Dist()


def setup(dist_info: Dist, device) -> None:
    """Join the process group (gloo on the CPU, NCCL on CUDA) unless already joined."""
    if not dist_info.enabled:
        return
    import torch
    import torch.distributed as td

    if td.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    td.init_process_group(backend=backend)


def teardown(dist_info: Dist, sync: bool = True) -> None:
    """Leave the process group; with `sync`, first wait for every rank to get here.

    Without that barrier a rank that finished first tears its gloo connections down while rank 0
    still writes the last checkpoint, and the C++ side aborts at exit ("terminate called without an
    active exception", seen in the two-process test). After an error, ranks may never meet: no sync.
    """
    if not dist_info.enabled:
        return
    import torch.distributed as td

    if td.is_initialized():
        if sync:
            td.barrier()
        td.destroy_process_group()


def broadcast_object(dist_info: Dist, obj):
    """Rank 0's `obj` on every rank (pickled; used for the small label snapshot and settings)."""
    if not dist_info.enabled:
        return obj
    import torch.distributed as td

    box = [obj if dist_info.is_main else None]
    td.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(dist_info: Dist, flag: bool, device) -> bool:
    """True on every rank when `flag` is true on any rank."""
    if not dist_info.enabled:
        return flag
    import torch
    import torch.distributed as td

    t = torch.tensor([1.0 if flag else 0.0], device=device)
    td.all_reduce(t, op=td.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(dist_info: Dist) -> None:
    if dist_info.enabled:
        import torch.distributed as td

        td.barrier()


def wrap(model, dist_info: Dist, device):
    """The model wrapped for DistributedDataParallel (the model itself for one process)."""
    if not dist_info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else dist_info.local_rank] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
