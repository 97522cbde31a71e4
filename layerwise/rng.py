"""The default random generator, used wherever a function takes `rng=None`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_generator = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """The generator used when no `rng` is passed (reseeded by `manual_seed`)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator so that runs that do not pass `rng` are reproducible."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


class BatchShard:
    """Within `with BatchShard(start, stop, total):`, the forward pass sees samples
    [start, stop) of a batch of `total`, and random draws per sample (dropout masks) are made
    for the whole batch and sliced, so that the numbers a sample gets, and the generator's state
    afterwards, are those of one process with the whole batch.

    Data-parallel training (layerwise.distributed) puts each rank's forward inside one; outside,
    nothing changes.
    """

    active: BatchShard | None = None

    def __init__(self, start: int, stop: int, total: int) -> None:
        if not 0 <= start <= stop <= total:
            raise ValueError(f"BatchShard: need 0 <= start <= stop <= total, got start={start}, "
                             f"stop={stop}, total={total}")
        self.start, self.stop, self.total = start, stop, total
        self._outer: BatchShard | None = None

    def __enter__(self) -> BatchShard:
        self._outer, BatchShard.active = BatchShard.active, self
        return self

    def __exit__(self, *exc: object) -> None:
        BatchShard.active = self._outer


def draw_per_sample(shape: tuple[int, ...],
                    draw: Callable[[tuple[int, ...]], np.ndarray]) -> np.ndarray:
    """draw(shape), or, inside a BatchShard whose shard has shape[0] samples, the shard's rows
    of draw((total, *shape[1:]))."""
    shard = BatchShard.active
    if shard is None or not shape or shape[0] != shard.stop - shard.start:
        return draw(shape)
    return draw((shard.total, *shape[1:]))[shard.start:shard.stop]
