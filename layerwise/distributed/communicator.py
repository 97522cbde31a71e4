"""Who takes part in training and how they exchange arrays.

A `Communicator` is one process (rank 0 of 1, every collective returns its input) unless the
program was started by `mpiexec`, where `world()` wraps mpi4py's COMM_WORLD. Everything above
this module (the optimizer wrapper, the trainer) calls the same five collectives either way, so
a single process needs no MPI and tests run without mpiexec.

mpi4py is imported only when an MPI launcher is detected, never by `import layerwise`.
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType
from typing import Any

import numpy as np

# Variables that MPI launchers set in every rank's environment: MPICH's Hydra (PMI_*),
# Open MPI (OMPI_*), and the PMIx that newer launchers of both use.
LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")

INSTALL_HINT = "pip install 'layerwise[distributed]' (mpi4py and the MPICH wheel)"


class DistributedError(RuntimeError):
    """MPI is needed but missing, or the ranks disagree about something they must share."""


class Communicator:
    """One process: rank 0 of a world of size 1, every collective a copy or a no-op.

    Subclasses talk to other processes. Every collective must be called by all ranks in the
    same order, with arrays of the same shape and dtype.
    """

    rank: int = 0
    size: int = 1

    def allreduce(self, array: np.ndarray) -> np.ndarray:
        """The elementwise sum of `array` over all ranks (a new array), in MPI's order."""
        result = np.array(array, copy=True, order="C")
        self.allreduce_in_place(result)
        return result

    def allreduce_in_place(self, array: np.ndarray) -> None:
        """Replace `array` (C-contiguous) by its elementwise sum over all ranks."""

    def allgather(self, array: np.ndarray) -> np.ndarray:
        """Every rank's `array` stacked in rank order: shape (size, *array.shape)."""
        return np.array(array, copy=True)[None]

    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        """Overwrite `array` (C-contiguous) on every rank with root's, in place."""
        self._check_root(root)

    def barrier(self) -> None:
        """Return once every rank has called it."""

    def broadcast_text(self, text: str, root: int = 0) -> str:
        """Root's `text` on every rank (a run folder's name, made from root's clock)."""
        if self.size == 1:
            return text
        data = text.encode()
        length = np.array([len(data)], dtype=np.int64)
        self.broadcast(length, root)
        buffer = np.zeros(int(length[0]), dtype=np.uint8)
        if self.rank == root:
            buffer[:] = np.frombuffer(data, dtype=np.uint8)
        self.broadcast(buffer, root)
        return buffer.tobytes().decode()

    def abort(self, code: int = 1) -> None:
        """End every rank's process with `code` (one process: exit)."""
        raise SystemExit(code)

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def _check_root(self, root: int) -> None:
        if not 0 <= root < self.size:
            raise ValueError(f"broadcast: root must be a rank in [0, {self.size}), got {root}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class MPICommunicator(Communicator):
    """The ranks of an mpi4py communicator (COMM_WORLD by default)."""

    def __init__(self, comm: Any = None) -> None:
        mpi = import_mpi()
        self.comm = comm if comm is not None else mpi.COMM_WORLD
        self._in_place = mpi.IN_PLACE
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    def allreduce_in_place(self, array: np.ndarray) -> None:
        if not array.flags.c_contiguous:
            raise ValueError("allreduce_in_place: the array must be C-contiguous")
        self.comm.Allreduce(self._in_place, array)

    def allgather(self, array: np.ndarray) -> np.ndarray:
        local = np.ascontiguousarray(array)
        result = np.empty((self.size, *local.shape), dtype=local.dtype)
        self.comm.Allgather(local, result)
        return result

    def broadcast(self, array: np.ndarray, root: int = 0) -> None:
        self._check_root(root)
        if not array.flags.c_contiguous:
            raise ValueError("broadcast: the array must be C-contiguous to be filled in place")
        self.comm.Bcast(array, root=root)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)


def launched_by_mpi(environment: dict[str, str] | None = None) -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process."""
    environment = dict(os.environ) if environment is None else environment
    return any(name in environment for name in LAUNCHER_VARIABLES)


def import_mpi() -> Any:
    """mpi4py's MPI module, or DistributedError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(f"distributed training needs mpi4py and an MPI library, which "
                               f"are not installed ({error}); {INSTALL_HINT}") from None
    return MPI


_WORLD: Communicator | None = None


def world() -> Communicator:
    """The communicator of this program: MPI's COMM_WORLD under an MPI launcher, else one
    process. Made once; the same object afterwards."""
    global _WORLD
    if _WORLD is None:
        _WORLD = MPICommunicator() if launched_by_mpi() else Communicator()
    return _WORLD


def install_abort_hook(comm: Communicator) -> None:
    """Make an uncaught exception on any rank end the whole job.

    Without it, the rank that raised exits while the others wait for it in their next
    collective, forever. The hook prints the traceback with the rank's number, then calls
    MPI_Abort, which ends every rank with a non-zero status. A no-op in one process.
    """
    if comm.size == 1:
        return

    def abort_on_exception(kind: type[BaseException], error: BaseException,
                           trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.stderr.write(f"[rank {comm.rank} of {comm.size}] interrupted\n")
            comm.abort(130)
            return
        text = "".join(traceback.format_exception(kind, error, trace))
        sys.stderr.write(f"[rank {comm.rank} of {comm.size}] {text}")
        comm.abort(1)

    sys.excepthook = abort_on_exception
