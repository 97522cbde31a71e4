"""A few steps of data-parallel training, run by tests/test_distributed.py.

    python distributed_worker.py MODE REDUCTION RANKS OUT.npz

MODE "mpi" runs under mpiexec: each rank builds the model from its own seed (so that
broadcast_parameters has work to do), takes its shard of every global batch and steps a
DistributedOptimizer. "micro" is one process that accumulates the same global batch as RANKS
micro-batches, each scaled by its share of the counted labels, in rank order. "whole" is one
process with the whole batch in one forward. "raise" makes rank 1 raise after one step.
Rank 0 (or the one process) writes the final weights to OUT.npz.
"""

from __future__ import annotations

import sys

import numpy as np

import layerwise as lw
from layerwise import nn, optim
from layerwise.distributed import (
    Communicator,
    DistributedOptimizer,
    broadcast_parameters,
    install_abort_hook,
    shard,
    world,
)

BATCH, STEPS, IGNORE = 13, 6, -100


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    inputs = rng.standard_normal((BATCH * STEPS, 10)).astype(np.float32)
    labels = rng.integers(0, 3, BATCH * STEPS)
    labels[rng.random(len(labels)) < 0.2] = IGNORE  # ignored labels weigh nothing
    labels[BATCH:BATCH + 7] = IGNORE  # a whole shard without a counted label
    return inputs, labels


def model(seed: int) -> nn.Module:
    lw.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))


def shard_gradients(net: nn.Module, x: np.ndarray, y: np.ndarray) -> int:
    """Backward of the shard's mean loss; the shard's weight (its counted labels)."""
    net.zero_grad()
    weight = int((y != IGNORE).sum())
    if weight:
        nn.CrossEntropyLoss(ignore_index=IGNORE)(net(x), y).backward()
    return weight


def main() -> None:
    mode, reduction, ranks, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    inputs, labels = data()
    comm: Communicator = world() if mode in ("mpi", "raise") else Communicator()
    install_abort_hook(comm)
    net = model(comm.rank)
    broadcast_parameters(net, comm)
    adam = optim.Adam(net.parameters(), lr=0.01)
    optimizer = DistributedOptimizer(adam, comm, reduction)
    for step in range(STEPS):
        x, y = inputs[step * BATCH:(step + 1) * BATCH], labels[step * BATCH:(step + 1) * BATCH]
        if mode in ("mpi", "raise"):
            part = shard(BATCH, comm.rank, comm.size)
            optimizer.step(shard_gradients(net, x[part], y[part]))
            if mode == "raise" and comm.rank == 1:
                raise RuntimeError("rank 1 fails on purpose")
        elif mode == "whole":
            shard_gradients(net, x, y)
            adam.step()
        else:
            micro_batches(net, adam, x, y, ranks)
    if comm.rank == 0:
        np.savez(out, **{name: p.data for name, p in net.named_parameters()})


def micro_batches(net: nn.Module, adam: optim.Optimizer, x: np.ndarray, y: np.ndarray,
                  ranks: int) -> None:
    """sum over r of (w_r / W) g_r, added in rank order, then one step."""
    parts = [shard(BATCH, r, ranks) for r in range(ranks)]
    total = sum(int((y[part] != IGNORE).sum()) for part in parts)
    summed: dict[int, np.ndarray] = {}
    for part in parts:
        weight = shard_gradients(net, x[part], y[part])
        for p in net.parameters():
            grad = p._grad if p._grad is not None else np.zeros_like(p.data)
            scaled = grad * grad.dtype.type(weight / total)
            summed[id(p)] = summed[id(p)] + scaled if id(p) in summed else scaled
    for p in net.parameters():
        p._grad = summed[id(p)]
    adam.step()


if __name__ == "__main__":
    main()
