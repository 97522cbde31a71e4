"""Every ```python block in docs/*.md runs, each in a fresh namespace, so the docs cannot drift
from the code.

A block is compiled with the Markdown file as its filename and its lines at their place in that
file, so a failing assert shows up in the traceback at its file and line, with its source.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import layerwise as lw

DOCS = Path(__file__).resolve().parent.parent / "docs"
OPENING_FENCE = re.compile(r"^(\s*)```python\s*$")
CLOSING_FENCE = re.compile(r"^\s*```\s*$")


@dataclass(frozen=True)
class Block:
    """One ```python block: the file, its 1-based number in the file and its first code line."""

    path: Path
    number: int
    first_line: int
    source: str

    @property
    def name(self) -> str:
        return f"{self.path.name}-block{self.number}"


def python_blocks(path: Path) -> Iterator[Block]:
    """The ```python blocks of one Markdown file, in order, dedented by their fence's indent."""
    lines = path.read_text(encoding="utf-8").splitlines()
    number = 0
    line_index = 0
    while line_index < len(lines):
        opening = OPENING_FENCE.match(lines[line_index])
        line_index += 1
        if opening is None:
            continue
        number += 1
        start, indent = line_index, len(opening.group(1))
        while line_index < len(lines) and not CLOSING_FENCE.match(lines[line_index]):
            line_index += 1
        if line_index == len(lines):
            raise ValueError(f"{path.name}: python block {number} opened on line {start} is "
                             f"never closed with ```")
        code = [line[indent:] for line in lines[start:line_index]]
        yield Block(path, number, start + 1, "\n".join(code) + "\n")
        line_index += 1


BLOCKS = [block for path in sorted(DOCS.glob("*.md")) for block in python_blocks(path)]


@pytest.fixture(autouse=True)
def in_a_fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that writes files (torch.save(..., "model.pth")) writes them there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def restore_default_dtype() -> Iterator[None]:
    """A block may call set_default_dtype; the tests after it must not see that."""
    dtype = lw.get_default_dtype()
    yield
    lw.set_default_dtype(dtype)


def test_the_docs_have_python_blocks() -> None:
    assert BLOCKS, f"no ```python blocks found in {DOCS}/*.md"


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
# A page may load a file PyTorch wrote, which has no layerwise checksum (docs/interop.md).
@pytest.mark.filterwarnings("ignore::layerwise.NoChecksumWarning")
def test_docs_block_runs(block: Block) -> None:
    where = f"docs/{block.path.name}, python block {block.number} (line {block.first_line})"
    # Blank lines in front put each line of the block at its line number in the Markdown file.
    padded = "\n" * (block.first_line - 1) + block.source
    code = compile(padded, str(block.path), "exec")
    namespace = {"__name__": f"docs_{block.path.stem}_block{block.number}"}
    failure = None
    try:
        with lw.enable_grad():  # starts recording, as a fresh interpreter does; restores after
            exec(code, namespace)
    except Exception:
        failure = traceback.format_exc()
    if failure is not None:
        pytest.fail(f"{where} failed:\n{failure}", pytrace=False)
