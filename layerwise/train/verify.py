"""`layerwise verify`: the files of a run folder (or one file) checked against the checksums
layerwise recorded when it wrote them, without building a model or loading data.

metrics.csv, the plots and report.html carry no checksum: they are drawn from the checked
files and nothing reads them back to train or evaluate (layerwise report writes report.html
again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerwise.checkpoint import CheckpointError, verify

# The files of a run that carry checksums, and what a corrupt one stops.
CHECKED_FILES = {
    "config.json": "every command on the run reads it",
    "checkpoint.safetensors": "--resume cannot continue from it",
    "model.safetensors": "evaluate, predict and report read it; --resume does not",
    "metrics.json": "report reads it",
    "health.json": "diagnose and report read it",
}


@dataclass
class FileCheck:
    """The verdict on one file: "ok", "no checksum (...)" or "corrupt: what changed"."""

    path: Path
    verdict: str
    corrupt: bool


def verify_file(path: Path) -> FileCheck:
    """Check one safetensors or JSON file against its checksums."""
    try:
        checked = verify(path)
    except CheckpointError as error:
        fault = str(error).removeprefix(f"{path}: ").removeprefix("corrupt: ")
        return FileCheck(path, f"corrupt: {fault}", corrupt=True)
    if checked:
        return FileCheck(path, "ok", corrupt=False)
    return FileCheck(path, "no checksum (an older file, or one another program wrote)",
                     corrupt=False)


def verify_run(target: Path) -> list[FileCheck]:
    """The checks of every checksummed file of a run folder, or of one file.

    Raises:
        FileNotFoundError: there is no such file or folder, or the folder has no config.json.
    """
    if target.is_file():
        return [verify_file(target)]
    if not target.is_dir():
        raise FileNotFoundError(f"no such file or folder: {target}")
    if not (target / "config.json").is_file():
        raise FileNotFoundError(f"{target} is not a layerwise run folder (no config.json)")
    return [verify_file(target / name) for name in CHECKED_FILES if (target / name).is_file()]


def summary(checks: list[FileCheck]) -> str:
    """The last line of `layerwise verify`: how many files are corrupt and what that stops."""
    corrupt = [check for check in checks if check.corrupt]
    count = f"{len(checks)} file{'s' * (len(checks) != 1)}"
    if not corrupt:
        return f"{count} checked, none corrupt"
    stops = [f"{check.path.name} ({CHECKED_FILES[check.path.name]})" for check in corrupt
             if check.path.name in CHECKED_FILES and len(checks) > 1]
    what = f": {'; '.join(stops)}" if stops else ""
    return (f"{len(corrupt)} of {count} corrupt; restore {'them' if len(corrupt) > 1 else 'it'} "
            f"from a copy{what}")
