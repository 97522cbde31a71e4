"""Data-parallel training, run by tests/test_distributed.py.

    python distributed_worker.py MODE REDUCTION RANKS OUT.npz

Modes run under mpiexec:
- "mpi": each rank builds the model from its own seed (so that broadcast_parameters has work to
  do), takes its shard of every global batch and steps a DistributedOptimizer;
- "trainer": the same through Trainer.fit, two epochs of shuffled batches;
- "raise": rank 1 raises after one step.
Modes of one process:
- "micro": accumulates each global batch as RANKS micro-batches, each scaled by its share of the
  counted labels, in rank order (the batches of "trainer" when REDUCTION is "trainer-order");
- "whole": the whole batch in one forward.
Dropout draws its masks for the whole batch in every mode (layerwise.rng.BatchShard), so the
modes differ only in how the gradients are added. Rank 0 (or the one process) writes the final
weights to OUT.npz.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

import layerwise as lw
from layerwise import nn, optim
from layerwise.data import DataLoader
from layerwise.distributed import (
    Communicator,
    DistributedOptimizer,
    broadcast_parameters,
    install_abort_hook,
    shard,
    world,
)
from layerwise.rng import BatchShard
from layerwise.train import Trainer

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
    net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 3))
    lw.manual_seed(100)  # the dropout masks: the same generator on every rank
    return net


def shard_gradients(net: nn.Module, x: np.ndarray, y: np.ndarray, part: slice) -> int:
    """Backward of the shard's mean loss; the shard's weight (its counted labels)."""
    net.zero_grad()
    with BatchShard(part.start, part.stop, len(y)):
        logits = net(x[part])
    weight = int((y[part] != IGNORE).sum())
    if weight:
        nn.CrossEntropyLoss(ignore_index=IGNORE)(logits, y[part]).backward()
    return weight


def batches(inputs: np.ndarray, labels: np.ndarray, trainer_order: bool
            ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if trainer_order:  # what Trainer.fit(epochs=2, batch_size=BATCH) with rng 3 draws
        loader = DataLoader(inputs, labels, batch_size=BATCH, shuffle=True,
                            rng=np.random.default_rng(3))
        for _ in range(2):
            yield from ((x.data, y.data) for x, y in loader)
        return
    for step in range(STEPS):
        yield inputs[step * BATCH:(step + 1) * BATCH], labels[step * BATCH:(step + 1) * BATCH]


def main() -> None:
    mode, reduction, ranks, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    inputs, labels = data()
    comm: Communicator = world() if mode in ("mpi", "trainer", "raise") else Communicator()
    install_abort_hook(comm)
    net = model(comm.rank)
    broadcast_parameters(net, comm)
    adam = optim.Adam(net.parameters(), lr=0.01)
    if mode == "trainer":
        trainer = Trainer(net, DistributedOptimizer(adam, comm, reduction),
                          nn.CrossEntropyLoss(ignore_index=IGNORE),
                          rng=np.random.default_rng(3), verbose=False)
        trainer.fit(inputs, labels, epochs=2, batch_size=BATCH)
        losses = np.array([record["loss"] for record in trainer.history.records])
    else:
        optimizer = DistributedOptimizer(adam, comm, reduction if reduction != "trainer-order"
                                         else "fixed")
        for x, y in batches(inputs, labels, reduction == "trainer-order"):
            if mode in ("mpi", "raise"):
                optimizer.step(shard_gradients(net, x, y, shard(len(y), comm.rank, comm.size)))
                if mode == "raise" and comm.rank == 1:
                    raise RuntimeError("rank 1 fails on purpose")
            elif mode == "whole":
                shard_gradients(net, x, y, slice(0, len(y)))
                adam.step()
            else:
                micro_batches(net, adam, x, y, ranks)
        losses = np.zeros(0)
    if comm.rank == 0:
        np.savez(out, losses=losses, **{name: p.data for name, p in net.named_parameters()})


def micro_batches(net: nn.Module, adam: optim.Optimizer, x: np.ndarray, y: np.ndarray,
                  ranks: int) -> None:
    """sum over r of (w_r / W) g_r, added in rank order, then one step. Each micro-batch's
    forward starts from the same generator state, as every rank's does."""
    parts = [shard(len(y), r, ranks) for r in range(ranks)]
    total = sum(int((y[part] != IGNORE).sum()) for part in parts)
    summed: dict[int, np.ndarray] = {}
    generator = lw.rng.default_generator().bit_generator
    start = generator.state
    for part in parts:
        generator.state = start
        weight = shard_gradients(net, x, y, part)
        for p in net.parameters():
            grad = p._grad if p._grad is not None else np.zeros_like(p.data)
            scaled = grad * grad.dtype.type(weight / total)
            summed[id(p)] = summed[id(p)] + scaled if id(p) in summed else scaled
    for p in net.parameters():
        p._grad = summed[id(p)]
    adam.step()


if __name__ == "__main__":
    main()
