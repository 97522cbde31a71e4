"""A file from a stranger runs no code: a malicious pickle, under every name any layerwise loader
accepts, is refused with one line and no marker file appears; and no layerwise module can
unpickle at all (checked on the syntax tree of every module)."""

from __future__ import annotations

import ast
import gzip
import io
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
from layerwise.cli import main

PACKAGE = Path(lw.__file__).parent


class Exploit:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def raw_pickle(marker: Path) -> bytes:
    return pickle.dumps({"weight": Exploit(marker)})


def torch_zip(marker: Path) -> bytes:
    """The layout of torch.save: a zip whose data.pkl is the pickle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", raw_pickle(marker))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def npy_of_objects(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([Exploit(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def npz_of_objects(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, weight=np.array([Exploit(marker)], dtype=object))
    return buffer.getvalue()


def gzip_pickle(marker: Path) -> bytes:
    return gzip.compress(raw_pickle(marker))


PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    "pickle": raw_pickle, "torch-zip": torch_zip, "npy-objects": npy_of_objects,
    "npz-objects": npz_of_objects, "gzip-pickle": gzip_pickle}
CHECKPOINT_NAMES = ["model.safetensors", "model.pt", "model.pth", "model.bin", "model.ckpt",
                    "model.pkl", "model.npy", "model.npz", "model"]
IMAGE_NAMES = ["images.npy", "images.npz", "images.png", "t10k-images-idx3-ubyte",
               "t10k-images-idx3-ubyte.gz", "images.idx", "images.pkl", "images.pt"]


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_each_payload_does_run_code_when_unpickled(tmp_path: Path, payload: str) -> None:
    """The control: without it, a marker that never appears would prove nothing."""
    marker = tmp_path / "code-ran"
    content = PAYLOADS[payload](marker)
    if payload == "torch-zip":
        content = zipfile.ZipFile(io.BytesIO(content)).read("archive/data.pkl")
    elif payload == "gzip-pickle":
        content = gzip.decompress(content)
    if payload == "npy-objects":
        np.load(io.BytesIO(content), allow_pickle=True)
    elif payload == "npz-objects":
        np.load(io.BytesIO(content), allow_pickle=True)["weight"]
    else:
        pickle.loads(content)
    assert marker.exists()


def plant(tmp_path: Path, name: str, payload: str) -> tuple[Path, Path]:
    """Write the payload under `name`; return the file and the marker it would create."""
    marker = tmp_path / "code-ran"
    path = tmp_path / name
    path.write_bytes(PAYLOADS[payload](marker))
    return path, marker


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command wrote to stderr, asserting it is one `layerwise: error:` line."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
@pytest.mark.parametrize("reader", [lw.load, lw.load_metadata], ids=["load", "load_metadata"])
def test_load_refuses_a_pickle_under_any_name(tmp_path: Path, name: str, payload: str,
                                              reader: Callable[[Path], object]) -> None:
    path, marker = plant(tmp_path, name, payload)
    with pytest.raises(lw.CheckpointError, match=rf"^{path}: not a safetensors checkpoint"):
        reader(path)
    assert not marker.exists()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run (two-moons points, one epoch)."""
    folder = tmp_path_factory.mktemp("run") / "moons"
    assert main(["train", "--dataset", "moons", "--hidden", "8", "--epochs", "1", "--samples",
                 "100", "--quiet", "--out", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("payload", ["pickle", "torch-zip"])
@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_the_cli_refuses_a_pickled_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         command: str, name: str, payload: str) -> None:
    path, marker = plant(tmp_path, name, payload)
    points = tmp_path / "points.npy"
    np.save(points, np.zeros((1, 2)))
    arguments = [command, str(path)] + ([str(points)] if command == "predict" else [])
    assert main(arguments) == 2
    assert "not a safetensors checkpoint" in one_line_error(capsys)
    assert not marker.exists()


def test_the_cli_refuses_a_run_folder_whose_model_is_a_pickle(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], run_folder: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_bytes((run_folder / "config.json").read_bytes())
    _, marker = plant(folder, "model.safetensors", "pickle")
    assert main(["evaluate", str(folder)]) == 2
    assert "model.safetensors: not a safetensors checkpoint" in one_line_error(capsys)
    assert not marker.exists()


@pytest.mark.parametrize(("name", "payload"), [
    (name, payload) for name in IMAGE_NAMES for payload in sorted(PAYLOADS)])
def test_predict_refuses_a_pickled_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              run_folder: Path, name: str, payload: str) -> None:
    path, marker = plant(tmp_path, name, payload)
    status = main(["predict", str(run_folder), str(path)])
    assert not marker.exists()
    assert status == 2
    one_line_error(capsys)


# --- no module can unpickle --------------------------------------------------------------------

PICKLING_MODULES = {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle",
                    "joblib"}
CODE_BUILTINS = {"eval", "exec", "compile", "__import__"}


def dotted_name(node: ast.expr) -> str | None:
    """`np.lib.format` for the expression np.lib.format, None for anything not a plain name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def unsafe_uses(source: str) -> list[str]:
    """Every way `source` could unpickle or run text as code, as 'line N: what'."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> the module or function it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
                if alias.name.split(".")[0] in PICKLING_MODULES:
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            if node.module.split(".")[0] in PICKLING_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted_name(node.func)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        resolved = ".".join(filter(None, [aliases.get(head, head), rest]))
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        if isinstance(node.func, ast.Name) and name in CODE_BUILTINS and head not in aliases:
            found.append(f"line {node.lineno}: {name}(...)")
        if resolved == "numpy.load" and not is_false(keywords.get("allow_pickle")):
            found.append(f"line {node.lineno}: {name}(...) without allow_pickle=False")
        elif "allow_pickle" in keywords and not is_false(keywords["allow_pickle"]):
            found.append(f"line {node.lineno}: {name}(..., allow_pickle=...) not False")
    return found


@pytest.mark.parametrize("source", [
    "import pickle", "import marshal as m", "from shelve import open", "import _pickle",
    "import numpy as np\nnp.load(f)", "import numpy\nnumpy.load(f, allow_pickle=True)",
    "from numpy import load\nload(f)", "import numpy as xp\nxp.load(f, allow_pickle=flag)",
    "np = __import__('numpy')", "eval('1')", "exec(code)", "compile(text, 'f', 'exec')",
    "import numpy as np\nnp.lib.format.read_array(f, allow_pickle=True)",
])
def test_the_scan_finds_each_unsafe_use(source: str) -> None:
    assert unsafe_uses(source), source


@pytest.mark.parametrize("source", [
    "import numpy as np\nnp.load(f, allow_pickle=False)", "import safetensors.numpy\n"
    "safetensors.numpy.load(data)", "model.eval()", "import re\nre.compile('a')",
])
def test_the_scan_passes_safe_code(source: str) -> None:
    assert unsafe_uses(source) == []


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_layerwise_module_can_unpickle_or_run_text(module: Path) -> None:
    assert unsafe_uses(module.read_text()) == []
