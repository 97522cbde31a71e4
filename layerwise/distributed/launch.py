"""`layerwise train --workers N`: start the same command on N ranks under mpiexec.

The mpiexec is the one beside the running Python (MPICH's wheel, from the `distributed` extra)
or else the first on PATH. Each rank gets cores / N BLAS threads unless OPENBLAS_NUM_THREADS
or OMP_NUM_THREADS is set, so that N ranks on one machine do not fight over its cores. Open
MPI's mpiexec also gets the two flags it needs to run as root and with more ranks than cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from layerwise.distributed.communicator import INSTALL_HINT, DistributedError, import_mpi

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpiexec() -> str:
    """The mpiexec to launch with, or DistributedError saying what to install."""
    beside = Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise DistributedError(f"--workers needs mpiexec, and none is beside {sys.executable} "
                               f"or on PATH; {INSTALL_HINT}")
    return found


def without_options(argv: Sequence[str], options: Sequence[str]) -> list[str]:
    """The command line without the given options and their values (the ranks must not
    launch again)."""
    kept: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
        elif argument in options:
            skip = True
        elif not argument.startswith(tuple(f"{option}=" for option in options)):
            kept.append(argument)
    return kept


def launch_command(workers: int, argv: Sequence[str], mpiexec: str,
                   hostfile: str | None = None) -> list[str]:
    """mpiexec [-f HOSTFILE] -n N python -m layerwise ARGV (without --workers, --hostfile)."""
    extra: list[str] = []
    open_mpi = is_open_mpi(mpiexec)
    if open_mpi:
        extra = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    if hostfile is not None:
        extra += ["--hostfile" if open_mpi else "-f", hostfile]
    return [mpiexec, *extra, "-n", str(workers), sys.executable, "-m", "layerwise",
            *without_options(argv, ("--workers", "--hostfile"))]


def is_open_mpi(mpiexec: str) -> bool:
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Open MPI" in version or "OpenRTE" in version


def rank_environment(workers: int) -> dict[str, str]:
    """This environment, with cores / workers BLAS threads per rank unless the user chose."""
    environment = dict(os.environ)
    if not any(name in environment for name in THREAD_VARIABLES):
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        environment.update({name: threads for name in THREAD_VARIABLES})
    return environment


def launch(workers: int, argv: Sequence[str], hostfile: str | None = None) -> int:
    """Run `layerwise ARGV` on `workers` ranks (on the machines of `hostfile`, one name per
    line, with `:slots` if wanted); the job's exit status.

    Ctrl-C reaches mpiexec and the ranks through the terminal's process group; this process
    waits for the job to end (the ranks save what they can) and returns its status.
    """
    import_mpi()
    if hostfile is not None and not Path(hostfile).is_file():
        raise DistributedError(f"--hostfile {hostfile}: no such file (it lists the machines to "
                               f"run on, one name per line)")
    command = launch_command(workers, argv, find_mpiexec(), hostfile)
    process = subprocess.Popen(command, env=rank_environment(workers))
    try:
        return process.wait()
    except KeyboardInterrupt:
        return process.wait()
