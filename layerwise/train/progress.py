"""Progress display: a tqdm bar with the running loss and accuracy on a terminal, one line
per epoch otherwise (log files, CI)."""

from __future__ import annotations

import sys
from typing import Any, TextIO


def format_metrics(logs: dict[str, float]) -> str:
    parts = []
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if name in logs:
            parts.append(f"{name} {logs[name]:.4f}")
    if "lr" in logs:
        parts.append(f"lr {logs['lr']:.3g}")
    if "seconds" in logs:
        parts.append(f"{logs['seconds']:.1f} s")
    return "  ".join(parts)


class EpochProgress:
    """Shows one epoch's progress, from `done` batches on (an epoch resumed after a stop);
    `enabled=False` shows nothing."""

    def __init__(self, epoch: int, epochs: int, batches: int, enabled: bool = True,
                 stream: TextIO | None = None, done: int = 0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.label = f"epoch {epoch}/{epochs}"
        self.bar: Any = None
        if enabled and _is_terminal(self.stream):
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: fall back to one line per epoch
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=batches, initial=done, desc=self.label, file=self.stream,
                                leave=True, unit="batch", dynamic_ncols=True)

    def update(self, step: int, loss: float, accuracy: float) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if step % 20 == 0:
            self.bar.set_postfix_str(f"loss {loss:.4f}  acc {accuracy:.4f}", refresh=False)

    def close(self, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(format_metrics(logs), refresh=True)
            self.bar.close()
            return
        print(f"{self.label}  {format_metrics(logs)}", file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
