"""Data-parallel training: every rank computes the gradient of its shard of the global batch,
the ranks sum the weighted gradients, and each steps the same optimizer on the same result.

With w_r the weight of rank r's shard (its number of counted samples: labels that are not
ignored) and g_r the mean gradient over it, the gradient of the global batch's mean loss is

    g = sum over r of (w_r / W) g_r,   W = sum over r of w_r,

which is what one process gets by accumulating the same global batch as micro-batches
(scaled the same way). Every rank scales its own gradient, packs all of them into one flat
buffer per dtype and the buffers are summed in one allreduce; the wrapped optimizer then
updates from the sum, so its state, schedule and state_dict are the same as in one process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from layerwise.distributed.communicator import Communicator, DistributedError, world
from layerwise.nn.module import Module
from layerwise.optim.optimizer import Optimizer
from layerwise.tensor import Tensor

REDUCTIONS = ("sum", "fixed")


class DistributedOptimizer(Optimizer):
    """Wraps an optimizer so that `step()` uses the gradient of the global batch.

    Args:
        optimizer: the optimizer to step (SGD, Adam, ...). Its param_groups and state are
            shared, not copied: a scheduler made on either object drives both.
        comm: the communicator (`layerwise.distributed.world()` by default).
        reduction: "sum" lets MPI add the buffers in the order its algorithm chooses (for two
            ranks a + b, the same on both, so bit for bit equal to one process accumulating
            two micro-batches); "fixed" gathers every rank's buffer and adds them in rank
            order, so that any number of ranks gives exactly the sequential accumulation, at
            the cost of receiving size times the gradient bytes.

    `step(weight)` takes this rank's shard weight (default 1: every rank counts the same, as
    Horovod averages). In one process it is the wrapped optimizer's step, unchanged.
    """

    def __init__(self, optimizer: Optimizer, comm: Communicator | None = None,
                 reduction: str = "sum") -> None:
        if isinstance(optimizer, DistributedOptimizer):
            raise TypeError("DistributedOptimizer: the optimizer is already distributed")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps a layerwise Optimizer (SGD, Adam, ...), "
                            f"got {type(optimizer).__name__}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"DistributedOptimizer: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.optimizer = optimizer
        self.comm = comm if comm is not None else world()
        self.reduction = reduction
        self.defaults = optimizer.defaults
        self.param_groups = optimizer.param_groups

    @property
    def state(self) -> dict[int, dict[str, Any]]:
        return self.optimizer.state

    @state.setter
    def state(self, value: dict[int, dict[str, Any]]) -> None:
        self.optimizer.state = value

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state_dict)

    def step(self, weight: float = 1.0) -> None:
        """Sum the ranks' weighted gradients into every parameter's .grad, then step."""
        if self.comm.size > 1:
            self.reduce_gradients(weight)
        self.optimizer.step()

    def reduce_gradients(self, weight: float = 1.0) -> None:
        """Replace each parameter's gradient by sum over ranks of (w_r / W) g_r.

        A parameter with no gradient on this rank contributes zeros; it gets the sum when
        any rank had a gradient for it, and stays without one when none had.
        """
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"DistributedOptimizer.step: weight must be a finite number >= 0 "
                             f"(this rank's counted samples), got {weight}")
        params = [param for group in self.param_groups for param in group["params"]]
        grads = [_array(param._grad) for param in params]
        shared = self.comm.allreduce(
            np.array([weight, *[grad is not None for grad in grads]], dtype=np.float64))
        total, present = float(shared[0]), shared[1:] > 0
        if total <= 0:
            raise DistributedError("DistributedOptimizer.step: every rank's weight is 0 (no "
                                   "counted sample in the global batch); nothing to average")
        fraction = weight / total
        for dtype, members in _by_dtype(params, present).items():
            buffer = np.empty(sum(params[i].data.size for i in members), dtype=dtype)
            offsets = _pack(buffer, [grads[i] for i in members],
                            [params[i].data.size for i in members], fraction)
            summed = self._sum(buffer)
            for i, start in zip(members, offsets, strict=True):
                params[i]._grad = summed[start:start + params[i].data.size].reshape(
                    params[i].data.shape)

    def _sum(self, buffer: np.ndarray) -> np.ndarray:
        if self.reduction == "sum":  # the packed buffer is ours: sum it where it lies
            self.comm.allreduce_in_place(buffer)
            return buffer
        gathered = self.comm.allgather(buffer)
        summed = gathered[0].copy()
        for rank in range(1, len(gathered)):
            summed += gathered[rank]
        return summed

    def __repr__(self) -> str:
        return (f"DistributedOptimizer({type(self.optimizer).__name__}, {self.comm!r}, "
                f"reduction={self.reduction!r})")


def _pack(buffer: np.ndarray, grads: list[np.ndarray | None], sizes: list[int],
          fraction: float) -> list[int]:
    offsets, start = [], 0
    for grad, size in zip(grads, sizes, strict=True):
        offsets.append(start)
        if grad is None:
            buffer[start:start + size] = 0
        else:
            np.multiply(grad.reshape(-1), grad.dtype.type(fraction), out=buffer[start:start + size])
        start += size
    return offsets


def _by_dtype(params: list[Any], present: np.ndarray) -> dict[np.dtype, list[int]]:
    groups: dict[np.dtype, list[int]] = {}
    for index, param in enumerate(params):
        if present[index]:
            groups.setdefault(param.data.dtype, []).append(index)
    return groups


def _array(grad: Any) -> np.ndarray | None:
    if grad is None or type(grad) is np.ndarray:
        return grad
    return np.asarray(grad.data)


def broadcast_parameters(model: Module | Iterable[Tensor], comm: Communicator | None = None,
                         root: int = 0) -> None:
    """Give every rank root's values of the model's parameters and buffers (running
    statistics), in place: call it once before training so all ranks start equal."""
    comm = comm if comm is not None else world()
    if comm.size == 1:
        return
    arrays: list[np.ndarray] = []
    if isinstance(model, Module):
        arrays += [param.data for param in model.parameters()]
        arrays += [_buffer_array(buffer) for _, buffer in model.named_buffers()]
    else:
        arrays += [param.data for param in model]
    for array in arrays:
        if not array.flags.c_contiguous:
            raise DistributedError("broadcast_parameters: a parameter is not C-contiguous; "
                                   "make it so (np.ascontiguousarray) before training")
        comm.broadcast(array, root)


def _buffer_array(buffer: Any) -> np.ndarray:
    return buffer.data if isinstance(buffer, Tensor) else np.asarray(buffer)


def shard(count: int, rank: int, size: int) -> slice:
    """The contiguous part of a batch of `count` samples that rank `rank` of `size` takes:
    the first count % size ranks get one sample more, so shards differ by at most one."""
    if not 0 <= rank < size:
        raise ValueError(f"shard: rank must be in [0, {size}), got {rank}")
    base, extra = divmod(count, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))
