"""layerwise.distributed: one process needs no MPI; under mpiexec, N ranks give the weights of
one process accumulating the same global batch as N micro-batches, bit for bit.

The multi-process tests start tests/distributed_worker.py with the mpiexec of MPICH's wheel
(the `distributed` extra), every rank and the one-process references with one BLAS thread, and
each under a timeout, so a hanging collective fails the test instead of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise import nn, optim
from layerwise.distributed import (
    Communicator,
    DistributedError,
    DistributedOptimizer,
    broadcast_parameters,
    launched_by_mpi,
    shard,
)
from layerwise.distributed import communicator as communicator_module
from layerwise.rng import BatchShard

WORKER = Path(__file__).with_name("distributed_worker.py")
MPIEXEC = Path(sys.executable).with_name("mpiexec")
TIMEOUT = 120  # seconds for one mpiexec job; a healthy one takes about 2 s


def small_model() -> nn.Module:
    lw.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))


def test_one_process_is_rank_0_of_1_and_collectives_return_their_input() -> None:
    comm = Communicator()
    values = np.arange(6.0).reshape(2, 3)
    assert (comm.rank, comm.size, comm.is_root) == (0, 1, True)
    assert np.array_equal(comm.allreduce(values), values)
    assert comm.allreduce(values) is not values
    assert comm.allgather(values).shape == (1, 2, 3)
    comm.broadcast(values)
    with pytest.raises(ValueError, match=r"root must be a rank in \[0, 1\), got 1"):
        comm.broadcast(values, root=1)


@pytest.mark.parametrize(("environment", "expected"), [
    ({}, False), ({"PMI_SIZE": "2", "PMI_RANK": "0"}, True),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, True), ({"PMIX_RANK": "1"}, True), ({"PATH": "/bin"}, False)])
def test_an_mpi_launcher_is_detected_by_its_environment(environment: dict[str, str],
                                                        expected: bool) -> None:
    assert launched_by_mpi(environment) is expected


def test_without_mpi4py_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(DistributedError, match=r"pip install 'layerwise\[distributed\]'"):
        communicator_module.import_mpi()


@pytest.mark.parametrize("count", [0, 1, 5, 13, 128])
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_shards_are_contiguous_cover_the_batch_and_differ_by_at_most_one(count: int,
                                                                         size: int) -> None:
    parts = [shard(count, rank, size) for rank in range(size)]
    covered = np.concatenate([np.arange(count)[part] for part in parts])
    assert np.array_equal(covered, np.arange(count))
    lengths = [part.stop - part.start for part in parts]
    assert max(lengths) - min(lengths) <= 1
    assert lengths == sorted(lengths, reverse=True)


def test_shard_refuses_a_rank_outside_the_world() -> None:
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\), got 2"):
        shard(10, 2, 2)


def test_in_one_process_the_wrapper_steps_exactly_as_the_optimizer() -> None:
    inputs = np.random.default_rng(0).standard_normal((8, 4))
    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    results = []
    for distributed in (False, True):
        net = small_model().double()
        adam = optim.Adam(net.parameters(), lr=0.1)
        optimizer = DistributedOptimizer(adam) if distributed else adam
        for _ in range(3):
            optimizer.zero_grad()
            nn.CrossEntropyLoss()(net(inputs), labels).backward()
            optimizer.step()
        results.append([p.data.copy() for p in net.parameters()])
    for plain, wrapped in zip(*results, strict=True):
        assert np.array_equal(plain, wrapped)


def test_the_wrapper_shares_groups_state_and_state_dict_with_the_optimizer() -> None:
    net = small_model()
    adam = optim.Adam(net.parameters(), lr=0.1)
    wrapped = DistributedOptimizer(adam)
    scheduler = optim.lr_scheduler.StepLR(wrapped, step_size=1, gamma=0.5)
    scheduler.step()
    assert adam.param_groups[0]["lr"] == pytest.approx(0.05)
    nn.CrossEntropyLoss()(net(np.ones((2, 4), np.float32)), np.array([0, 1])).backward()
    wrapped.step()
    assert wrapped.state is adam.state and len(adam.state) == 4
    assert wrapped.state_dict().keys() == adam.state_dict().keys()


def test_bad_arguments_are_named() -> None:
    adam = optim.Adam(small_model().parameters())
    with pytest.raises(TypeError, match=r"wraps a layerwise Optimizer .* got list"):
        DistributedOptimizer([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="already distributed"):
        DistributedOptimizer(DistributedOptimizer(adam))  # type: ignore[arg-type]
    with pytest.raises(ValueError,
                       match=r"reduction must be one of \('sum', 'fixed'\), got 'mean'"):
        DistributedOptimizer(adam, reduction="mean")


class TwoRanksOfOne(Communicator):
    """A fake world of two ranks in which the other rank always sends what this one sends:
    enough to test the packing and the weights without MPI."""

    size = 2

    def allreduce_in_place(self, array: np.ndarray) -> None:
        array *= 2

    def allgather(self, array: np.ndarray) -> np.ndarray:
        return np.stack([array, array])


@pytest.mark.parametrize("reduction", ["sum", "fixed"])
def test_gradients_are_weighted_packed_and_unpacked_per_parameter(reduction: str) -> None:
    net = small_model()
    first, *_ = net.parameters()
    nn.CrossEntropyLoss()(net(np.ones((3, 4), np.float32)), np.array([0, 1, 1])).backward()
    before = {id(p): p.grad.data.copy() for p in net.parameters()}
    first._grad = None  # this rank had no gradient for it: it counts as zeros
    optimizer = DistributedOptimizer(optim.SGD(net.parameters(), lr=0.0), TwoRanksOfOne(),
                                     reduction)
    optimizer.reduce_gradients(weight=3.0)  # W = 6: each rank's share is 1/2
    assert first._grad is None  # no rank had one (the fake other rank mirrors this one)
    for p in list(net.parameters())[1:]:
        assert p.grad.data.shape == p.data.shape
        assert np.array_equal(p.grad.data, (before[id(p)] * np.float32(0.5)) * 2)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_a_bad_weight_is_refused(weight: float) -> None:
    optimizer = DistributedOptimizer(optim.SGD(small_model().parameters(), lr=0.1),
                                     TwoRanksOfOne())
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        optimizer.reduce_gradients(weight)


def test_a_global_batch_with_no_counted_sample_is_refused() -> None:
    optimizer = DistributedOptimizer(optim.SGD(small_model().parameters(), lr=0.1),
                                     TwoRanksOfOne())
    with pytest.raises(DistributedError, match="every rank's weight is 0"):
        optimizer.reduce_gradients(0.0)


def test_broadcast_in_one_process_leaves_the_model_alone() -> None:
    net = small_model()
    before = [p.data.copy() for p in net.parameters()]
    broadcast_parameters(net)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.parameters(), strict=True))


# --- several processes under mpiexec ------------------------------------------------------------

needs_mpi = pytest.mark.skipif(
    not MPIEXEC.exists(), reason=f"no mpiexec beside {sys.executable}: install the "
    "'distributed' extra (pip install 'layerwise[distributed]')")


def run_worker(tmp_path: Path, mode: str, reduction: str, ranks: int,
               mpi: bool) -> subprocess.CompletedProcess[str]:
    out = tmp_path / f"{mode}-{reduction}-{ranks}.npz"
    command = [sys.executable, str(WORKER), mode, reduction, str(ranks), str(out)]
    if mpi:
        command = [str(MPIEXEC), "-n", str(ranks), *command]
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "PYTHONPATH": str(Path(lw.__file__).parent.parent)}
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          env=environment, check=False)


def weights(tmp_path: Path, mode: str, reduction: str, ranks: int,
            mpi: bool) -> dict[str, np.ndarray]:
    result = run_worker(tmp_path, mode, reduction, ranks, mpi)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / f"{mode}-{reduction}-{ranks}.npz", allow_pickle=False) as saved:
        return dict(saved)


@needs_mpi
@pytest.mark.parametrize(("ranks", "reduction"), [(2, "sum"), (3, "fixed")])
def test_ranks_equal_one_process_accumulating_micro_batches_bit_for_bit(
        tmp_path: Path, ranks: int, reduction: str) -> None:
    distributed = weights(tmp_path, "mpi", reduction, ranks, mpi=True)
    micro = weights(tmp_path, "micro", reduction, ranks, mpi=False)
    whole = weights(tmp_path, "whole", reduction, ranks, mpi=False)
    assert distributed.keys() == micro.keys()
    for name in set(micro) - {"losses"}:
        assert np.array_equal(distributed[name], micro[name]), name
        # the whole batch in one forward adds in another order: float32 rounding apart
        np.testing.assert_allclose(distributed[name], whole[name], rtol=1e-5, atol=1e-6)


@needs_mpi
def test_the_trainer_on_two_ranks_equals_one_process(tmp_path: Path) -> None:
    """Two epochs of shuffled batches of 13 (shards of 7 and 6), dropout, ignored labels and a
    shard with no counted label: bit for bit the micro-batch accumulation, and float32
    rounding apart from the Trainer of one process with the whole batch."""
    distributed = weights(tmp_path, "trainer", "sum", 2, mpi=True)
    micro = weights(tmp_path, "micro", "trainer-order", 2, mpi=False)
    one = weights(tmp_path, "trainer", "sum", 1, mpi=False)
    for name in set(micro) - {"losses"}:
        assert np.array_equal(distributed[name], micro[name]), name
        np.testing.assert_allclose(distributed[name], one[name], rtol=1e-5, atol=1e-6)
    assert len(distributed["losses"]) == 2
    np.testing.assert_allclose(distributed["losses"], one["losses"], rtol=1e-5)


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job_with_its_message(tmp_path: Path) -> None:
    result = run_worker(tmp_path, "raise", "sum", 2, mpi=True)
    assert result.returncode != 0
    assert "[rank 1 of 2]" in result.stderr
    assert "RuntimeError: rank 1 fails on purpose" in result.stderr


def test_inside_a_batch_shard_dropout_takes_its_rows_of_the_whole_batch_mask() -> None:
    x = np.ones((10, 6), np.float32)
    lw.manual_seed(5)
    whole = lw.functional.dropout(lw.tensor(x), 0.5, training=True).data
    after_whole = lw.rng.default_generator().bit_generator.state
    lw.manual_seed(5)
    with BatchShard(4, 7, 10):
        part = lw.functional.dropout(lw.tensor(x[4:7]), 0.5, training=True).data
    assert np.array_equal(part, whole[4:7])
    assert lw.rng.default_generator().bit_generator.state == after_whole
    assert BatchShard.active is None


def test_a_batch_shard_outside_its_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="need 0 <= start <= stop <= total, got start=3, stop=2"):
        BatchShard(3, 2, 10)
