"""Data-parallel training over MPI (mpi4py, imported only under an MPI launcher).

In one process every name here works and does nothing extra: `world()` is rank 0 of 1,
`DistributedOptimizer.step()` is the wrapped optimizer's step and `broadcast_parameters` returns
at once. Under `mpiexec -n N`, each rank trains on its shard of every global batch and the
gradients are summed between backward and the update (ChainerMN's and Horovod's pattern).
"""

from layerwise.distributed.communicator import (
    Communicator,
    DistributedError,
    MPICommunicator,
    install_abort_hook,
    launched_by_mpi,
    world,
)
from layerwise.distributed.optimizer import DistributedOptimizer, broadcast_parameters, shard

__all__ = ["Communicator", "DistributedError", "DistributedOptimizer", "MPICommunicator",
           "broadcast_parameters", "install_abort_hook", "launched_by_mpi", "shard", "world"]
