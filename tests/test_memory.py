"""The allocator setting layerwise applies at import (layerwise/memory.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from layerwise import memory


def test_the_users_own_malloc_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("LAYERWISE_KEEP_FREED_MEMORY", raising=False)
    assert memory.wanted()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not memory.wanted()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("LAYERWISE_KEEP_FREED_MEMORY", "0")
    assert not memory.wanted()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_stay_in_the_process_for_the_next_step() -> None:
    """A 64 MiB block freed and allocated again: with the setting, the second allocation
    reuses the heap's pages and takes (almost) no page faults; without it, glibc returns the
    block to the system and every page faults again."""
    program = (
        "import resource, numpy as np, layerwise\n"
        "np.ones(2**24, np.float32)\n"  # allocate, touch and free 64 MiB
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "np.ones(2**24, np.float32)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    faults = {}
    for setting in ("1", "0"):
        finished = subprocess.run([sys.executable, "-c", program], capture_output=True,
                                  text=True, timeout=120, check=True,
                                  env={"LAYERWISE_KEEP_FREED_MEMORY": setting, "PATH": ""})
        faults[setting] = int(finished.stdout)
    # 64 MiB is 16,384 pages of 4 KiB, or 32 huge pages of 2 MiB where the kernel gives them
    # (NumPy asks for them): hundreds of faults at least, against none.
    assert faults["0"] >= 32
    assert faults["1"] < faults["0"] / 10
