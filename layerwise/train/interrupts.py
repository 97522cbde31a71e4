"""Ctrl-C at a moment of our choosing.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT comes: half-way
through an optimizer step (some weights updated, others not), between the files of a checkpoint,
or inside code that cannot pass it on: a weakref callback or a ctypes callback prints it as
"Exception ignored" and carries on, and an extension module's import makes the interpreter end
by SIGINT even after the interrupt was handled. Here SIGINT is recorded instead, and delivered
where the caller says.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


class PendingInterrupt:
    """The SIGINT recorded by `interrupts_deferred`, delivered by `deliver()`."""

    def __init__(self, previous: Any = None) -> None:
        self.previous = previous
        self.received = False

    def record(self, signum: int, frame: FrameType | None) -> None:
        self.received = True

    @property
    def pending(self) -> bool:
        """Whether `deliver()` would pass a SIGINT on now."""
        return self.received and self.previous is not None

    def deliver(self) -> None:
        """Pass a recorded SIGINT to the handler it was meant for: Python's raises
        KeyboardInterrupt here, unless the program set another."""
        if not self.received or self.previous is None:
            return
        self.received = False
        signal.signal(signal.SIGINT, self.previous)
        try:
            signal.raise_signal(signal.SIGINT)  # runs the handler before it returns
        finally:
            signal.signal(signal.SIGINT, self.record)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[PendingInterrupt]:
    """Record SIGINT while the block runs; the block calls `deliver()` where an interrupt may
    stop it, and one that is left is delivered at the end.

    Signal handlers can only be set from the main thread; in another thread the block runs
    as is and `deliver()` does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield PendingInterrupt()
        return
    previous = signal.getsignal(signal.SIGINT)
    pending = PendingInterrupt(previous if previous is not None else signal.SIG_DFL)
    signal.signal(signal.SIGINT, pending.record)
    try:
        yield pending
    finally:
        signal.signal(signal.SIGINT, pending.previous)
    if pending.received:
        signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold back SIGINT until the block is done, then deliver it."""
    with interrupts_deferred():
        yield
