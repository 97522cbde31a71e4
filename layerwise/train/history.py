"""History: one record of metrics per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Per-epoch records: epoch, loss, accuracy, val_loss, val_accuracy, lr, seconds.

    `history["val_loss"]` gives one metric as a list over the epochs.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def append(self, record: dict[str, float]) -> None:
        self.records.append(dict(record))

    def __getitem__(self, metric: str) -> list[float]:
        return [record[metric] for record in self.records if metric in record]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def metrics(self) -> list[str]:
        names: list[str] = []
        for record in self.records:
            names += [name for name in record if name not in names]
        return names

    def to_dict(self) -> dict[str, Any]:
        return {"records": [dict(record) for record in self.records]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> History:
        return cls([dict(record) for record in state.get("records", [])])
