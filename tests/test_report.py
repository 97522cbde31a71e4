"""report.html: what `layerwise train` and `layerwise report` write into a run folder.

The page is checked twice. Without a browser: it parses, it names nothing to load (no http://
or https://, no src other than data: URIs, no <script> or <link>), and every image is a data: URI
that an independent decoder (matplotlib's, through Pillow) reads as a PNG of the size the page
says. In a real browser, headless Chromium (Debian's `chromium`, installed by `make browser`;
these tests are skipped, saying so, where it is absent), see `test_in_chromium`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerwise.checkpoint import read_json, write_json
from layerwise.cli import main
from layerwise.train.callbacks import Callback
from layerwise.train.config import RunConfig
from layerwise.train.inline import nice_ticks, png_bytes
from layerwise.train.report import GALLERY_SIZE, NO_HEALTH, write_report
from layerwise.train.run import Splits, load_splits

CHROMIUM_TIMEOUT = 90  # seconds, for each run of the browser
FINDINGS = [
    {"kind": "update_ratio", "severity": "warning", "step": 50, "layer": "fc2.weight",
     "message": "Linear 2 (fc2.weight): updates are 0.31 of the weights at step 50, about 300x "
                "the usual 1e-3; the learning rate is likely too high"},
    {"kind": "initial_loss", "severity": "info", "step": None, "layer": None,
     "message": "the initial loss 2.31 is close to ln(10) = 2.30 <as expected> & fine"},
]


def train(*arguments: str) -> tuple[Path, list[str]]:
    """Train through the command's entry point; the run folder and the lines of stdout."""
    folder = Path(arguments[arguments.index("--out") + 1])
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["train", *arguments, "--quiet"])
    assert status == 0
    return folder, output.getvalue().splitlines()


def picture(seed: int) -> bytes:
    """A small RGB PNG of random colours, standing in for a plot."""
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (30, 40, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """One epoch of a small MLP on Fashion-MNIST, with health data written by hand (the schema
    of health.json) and `layerwise report` run again to show it."""
    folder, lines = train("--hidden", "16", "--epochs", "1", "--out",
                          str(tmp_path_factory.mktemp("report") / "fashion"))
    health = {"version": 1, "every": 10, "classes": 10, "initial_loss": 2.3124,
              "expected_initial_loss": float(np.log(10)), "samples": [], "findings": FINDINGS}
    write_json(folder / "health.json", health)
    (folder / "gradient_flow.png").write_bytes(picture(1))
    (folder / "activations.png").write_bytes(picture(2))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main(["report", str(folder)]) == 0
    assert output.getvalue() == f"report: {folder / 'report.html'}\n"
    return folder, lines


@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = train("--dataset", "spirals", "--hidden", "16", "--epochs", "3", "--samples",
                      "300", "--batch-size", "32", "--no-health", "--out",
                      str(tmp_path_factory.mktemp("report") / "spirals"))
    return folder


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CNN trained one epoch on the first 2,000 training images (500 held out), to be
    quick; the report evaluates it on the whole test set."""
    import layerwise.train.run as run_module

    def fewer(config: RunConfig) -> Splits:
        splits = load_splits(config)
        return Splits(splits.train_x[:2000], splits.train_y[:2000], splits.val_x[:500],
                      splits.val_y[:500], splits.test_x, splits.test_y, splits.classes)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "load_splits", fewer)
        folder, _ = train("--model", "cnn", "--channels", "4", "--hidden", "8", "--epochs", "1",
                          "--out", str(tmp_path_factory.mktemp("report") / "cnn"))
    return folder


# --- reading the page ---------------------------------------------------------------------------


class Page(HTMLParser):
    """The parts of a report the tests look at: every tag with its attributes, the text of each
    section, the tables of each section (rows of cell texts) and the figure captions (a <br>
    read as a space)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.sections: dict[str, str] = {}
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.captions: list[str] = []
        self._section = ""
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "section":
            self._section = attributes["id"]
            self.sections[self._section] = ""
        elif tag == "table":
            self.tables.setdefault(self._section, []).append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figcaption":
            self._caption = []
        elif tag == "br" and self._caption is not None:
            self._caption.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._section][-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "section":
            self._section = ""
        elif tag == "figcaption" and self._caption is not None:
            self.captions.append(" ".join("".join(self._caption).split()))
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._section:
            self.sections[self._section] += data
        for part in (self._cell, self._caption):
            if part is not None:
                part.append(data)

    def images(self) -> list[dict[str, str]]:
        return [attributes for tag, attributes in self.tags if tag == "img"]


def read_page(folder: Path) -> tuple[str, Page]:
    text = (folder / "report.html").read_text(encoding="utf-8")
    return text, Page(text)


def decoded_png(uri: str) -> np.ndarray:
    """The pixels of a data: URI, read by matplotlib (Pillow), not by our own encoder."""
    matplotlib_image = pytest.importorskip("matplotlib.image")
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix), uri[:40]
    content = base64.b64decode(uri[len(prefix):], validate=True)
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(matplotlib_image.imread(io.BytesIO(content), format="png"))


def assert_self_contained(folder: Path) -> Page:
    text, page = read_page(folder)
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed"}, tags
    for tag, attributes in page.tags:
        for name in ("src", "href", "srcset", "data"):
            if name in attributes:
                assert tag == "img" and name == "src", (tag, name)
    csp = [attributes["content"] for tag, attributes in page.tags
           if tag == "meta" and attributes.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'")
    for image in page.images():
        pixels = decoded_png(image["src"])
        assert pixels.shape[0] > 0 and pixels.shape[1] > 0
    return page


# --- the page ------------------------------------------------------------------------------------


def test_train_ends_with_the_path_of_the_report(fashion_run: tuple[Path, list[str]]) -> None:
    folder, lines = fashion_run
    assert lines[-1] == f"report: {folder / 'report.html'}"
    assert lines[-2].startswith("health: ")  # the training-health line comes before it
    assert lines[-3] == f"run folder: {folder}" and lines[0].startswith("trained 1 epoch in")


@pytest.mark.parametrize("name", ["fashion_run", "spiral_run", "cnn_run"])
def test_the_report_is_self_contained(name: str, request: pytest.FixtureRequest) -> None:
    run = request.getfixturevalue(name)
    assert_self_contained(run[0] if isinstance(run, tuple) else run)


def test_the_report_shows_the_config_metrics_and_curves(
        fashion_run: tuple[Path, list[str]]) -> None:
    folder, _ = fashion_run
    _, page = read_page(folder)
    assert "Finished: 1 of 1 epochs." in page.sections["state"]
    saved = json.loads((folder / "config.json").read_text())
    settings, versions = page.tables["config"][:2]
    assert settings[0] == ["setting", "value"]
    assert {name: json.loads(value) for name, value in settings[1:]} == saved["config"]
    assert dict(versions[1:]) == saved["versions"] and saved["versions"]["numpy"] == np.__version__
    assert saved["command"] in page.sections["config"]
    epochs = page.tables["curves"][0]
    record = json.loads((folder / "metrics.json").read_text())["history"][0]
    assert epochs[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    assert epochs[1:] == [["1", *(f"{record[name]:.4f}" for name in epochs[0][1:5]),
                           f"{record['lr']:.3g}", f"{record['seconds']:.1f}"]]
    charts = [attributes["aria-label"] for tag, attributes in page.tags if tag == "svg"]
    assert charts == ["Loss", "Accuracy"]
    tooltips = re.findall(r"<title>(train|validation), epoch 1: ([\d.]+)</title>",
                          (folder / "report.html").read_text())
    assert tooltips == [(series, f"{record[name]:.4f}") for series, name in [
        ("train", "loss"), ("validation", "val_loss"), ("train", "accuracy"),
        ("validation", "val_accuracy")]]


def test_the_model_table_counts_every_parameter(cnn_run: Path) -> None:
    """The CNN of --channels 4 --hidden 8: a 3x3 convolution 1 -> 4 (36 weights + 4 biases),
    pooled to 4 x 14 x 14 = 784 values, Linear(784 -> 8) and Linear(8 -> 10)."""
    _, page = read_page(cnn_run)
    layers = page.tables["model"][0]
    assert layers[0] == ["layer", "type", "output shape", "parameters"]
    expected = {"Conv2d": 4 * 9 + 4, "Linear": 784 * 8 + 8 + 8 * 10 + 10}
    for kind, count in expected.items():
        assert sum(int(row[3].replace(",", "")) for row in layers[1:-1] if row[1] == kind) == count
    assert layers[-1] == ["total", "", "", f"{sum(expected.values()):,}"]
    assert sum(int(row[3].replace(",", "")) for row in layers[1:-1]) == sum(expected.values())
    conv = next(row for row in layers if row[1] == "Conv2d")
    assert conv[2] == "(1, 4, 28, 28)"
    assert layers[-2][1:3] == ["Linear", "(1, 10)"]
    assert any(caption.startswith("feature_maps.png") for caption in page.captions)


def test_the_confusion_matrix_is_the_test_evaluation(fashion_run: tuple[Path, list[str]]) -> None:
    folder, _ = fashion_run
    _, page = read_page(folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    rows = page.tables["confusion"][0]
    assert rows[0][1:-1] == metrics["classes"]
    counts = np.array([[int(cell) for cell in row[1:-1]] for row in rows[1:]])
    assert counts.tolist() == metrics["confusion_matrix"]  # the same weights, the same test set
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics["test_accuracy"])
    recall = [float(row[-1]) for row in rows[1:]]
    assert recall == pytest.approx(np.diag(counts) / counts.sum(axis=1), abs=5e-4)


def test_the_gallery_shows_the_surest_mistakes(fashion_run: tuple[Path, list[str]]) -> None:
    folder, _ = fashion_run
    _, page = read_page(folder)
    from layerwise.data import fashion_mnist

    test = fashion_mnist("test")
    samples = [image for image in page.images() if image["alt"].startswith("test image ")]
    captions = [caption for caption in page.captions if caption.startswith("#")]
    assert len(samples) == len(captions) == GALLERY_SIZE
    confidences = []
    for image, caption in zip(samples, captions, strict=True):
        index = int(image["alt"].removeprefix("test image "))
        found = re.fullmatch(r"#(\d+) true: (.+?) predicted: (.+) \((\d\.\d\d)\)", caption)
        assert found is not None, caption
        assert int(found[1]) == index and found[2] == test.classes[test.labels[index]]
        assert found[3] != found[2]
        confidences.append(float(found[4]))
        pixels = decoded_png(image["src"])
        assert pixels.shape == (28, 28)  # gray, as stored
        assert np.abs(pixels * 255 - test.images[index]).max() <= 0.5
    assert confidences == sorted(confidences, reverse=True)
    found = re.search(r"([\d,]+) of 10,000 test images misclassified", page.sections["mistakes"])
    assert found is not None
    wrong = int(found[1].replace(",", ""))
    accuracy = json.loads((folder / "metrics.json").read_text())["test_accuracy"]
    assert wrong == round((1 - accuracy) * len(test.labels))


def test_the_health_findings_and_plots_are_shown(fashion_run: tuple[Path, list[str]]) -> None:
    folder, _ = fashion_run
    text, page = read_page(folder)
    findings = page.tables["health"][0]
    assert findings[0] == ["severity", "finding", "step", "layer"]
    assert findings[1:] == [["warning", FINDINGS[0]["message"], "50", "fc2.weight"],
                            ["info", FINDINGS[1]["message"], "", ""]]
    assert "<as expected> & fine" not in text  # escaped, not markup
    assert "sampled every 10 steps" in page.sections["health"]
    assert "initial loss 2.3124, against 2.3026 expected" in page.sections["health"]
    for name in ("gradient_flow.png", "activations.png"):
        uri = "data:image/png;base64," + base64.b64encode((folder / name).read_bytes()).decode()
        assert any(image["src"] == uri for image in page.images()), name


@pytest.mark.filterwarnings("ignore::layerwise.NoChecksumWarning")  # config.json edited
def test_without_the_data_the_confusion_matrix_of_metrics_json_is_shown(
        fashion_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(fashion_run[0], folder)
    saved = json.loads((folder / "config.json").read_text())
    saved["config"]["data"] = str(tmp_path / "empty")
    del saved["layerwise.sha256"]  # an edit made on purpose: its checksums go with it
    (folder / "config.json").write_text(json.dumps(saved))
    write_report(folder)
    _, page = read_page(folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "From metrics.json, as the test set could not be loaded (Fashion-MNIST test files" in \
        page.sections["confusion"]
    counts = [[int(cell) for cell in row[1:-1]] for row in page.tables["confusion"][0][1:]]
    assert counts == metrics["confusion_matrix"]
    assert "No gallery: the test set could not be loaded" in page.sections["mistakes"]
    assert not [image for image in page.images() if image["alt"].startswith("test image")]


def test_without_health_data_the_report_says_so(spiral_run: Path) -> None:
    _, page = read_page(spiral_run)
    assert NO_HEALTH in page.sections["health"]
    assert "health" not in page.tables


@pytest.mark.filterwarnings("ignore::layerwise.NoChecksumWarning")  # written by hand
def test_an_unreadable_health_file_is_named(spiral_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(spiral_run, folder)
    (folder / "health.json").write_text('{"findings": 3}')
    write_report(folder)
    _, page = read_page(folder)
    assert "health.json is not readable" in page.sections["health"]


def test_points_get_the_decision_boundary_instead_of_images(spiral_run: Path) -> None:
    _, page = read_page(spiral_run)
    assert "spirals is a set of 2-D points, not images" in page.sections["mistakes"]
    assert [image["alt"] for image in page.images()] == ["decision boundary"]
    rows = page.tables["confusion"][0]
    counts = np.array([[int(cell) for cell in row[1:-1]] for row in rows[1:]])
    metrics = json.loads((spiral_run / "metrics.json").read_text())
    assert counts.tolist() == metrics["confusion_matrix"] and counts.sum() == 300
    wrong = counts.sum() - np.trace(counts)
    assert f"{wrong} of 300 test points misclassified" in page.sections["mistakes"]


# --- partial runs ------------------------------------------------------------------------------


@pytest.fixture
def ctrl_c_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Press Ctrl-C (SIGINT, raising KeyboardInterrupt) at the end of step `step` of epoch
    `epoch`: the test appends (epoch, step)."""
    moments: list[tuple[int, int]] = []

    def on_batch_end(self: Callback, trainer: Any, step: int, logs: dict[str, float]) -> None:
        progress = trainer.epoch_in_progress
        if progress is not None and (progress.epoch, progress.step) in moments:
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(Callback, "on_batch_end", on_batch_end)
    yield moments
    signal.signal(signal.SIGINT, previous)


def test_a_run_stopped_by_ctrl_c_gets_a_partial_report(ctrl_c_at: list[tuple[int, int]],
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "run"
    ctrl_c_at.append((2, 3))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["train", "--dataset", "moons", "--hidden", "8", "--epochs", "3",
                       "--samples", "400", "--batch-size", "32", "--quiet", "--out", str(folder)])
    assert status == 130
    assert output.getvalue().splitlines()[-1] == \
        f"report: {folder / 'report.html'} (of the partial run)"
    _, page = read_page(folder)
    batches = -(-(400 - 80) // 32)
    assert (f"Partial: stopped in epoch 2 of 3, after step 3 of {batches} "
            f"({100 * 3 / batches:.0f} % of that epoch; 1 epoch finished)") in \
        page.sections["state"]
    assert [row[0] for row in page.tables["curves"][0][1:]] == ["1"]
    assert "drawn when the run last finished" not in page.sections["mistakes"]
    assert_self_contained(folder)


def test_a_run_stopped_after_an_epoch_says_how_far_it_went(spiral_run: Path,
                                                           tmp_path: Path) -> None:
    """A finished run resumed to more epochs, stopped between two: metrics.json is of the earlier
    finish, so the report neither calls it finished nor shows that test loss."""
    folder = tmp_path / "run"
    shutil.copytree(spiral_run, folder)
    saved = read_json(folder / "config.json")
    saved["config"]["epochs"] = 6
    write_json(folder / "config.json", saved)
    metrics = read_json(folder / "metrics.json")
    write_json(folder / "metrics.json", {**metrics, "epochs": 2})
    write_report(folder)
    _, page = read_page(folder)
    assert "Partial: stopped after epoch 3 of 6 (50 % of the run)" in page.sections["state"]
    assert "(metrics.json)" not in page.sections["state"]
    assert "drawn when the run last finished" in page.sections["mistakes"]


def test_a_run_without_weights_gets_a_report_that_says_so(spiral_run: Path,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(spiral_run / "config.json", folder)
    write_report(folder)
    _, page = read_page(folder)
    assert "Partial: stopped during epoch 1 of 3, before any weights were saved" in \
        page.sections["state"]
    assert "No finished epoch" in page.sections["curves"]
    assert "no trained weights yet" in page.sections["confusion"]
    assert_self_contained(folder)


# --- the drawing helpers -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (28, 28), (5, 7, 3)])
def test_png_bytes_is_read_back_by_an_independent_decoder(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    content = png_bytes(pixels)
    decoded = decoded_png("data:image/png;base64," + base64.b64encode(content).decode())
    assert np.array_equal(np.round(decoded * 255).astype(np.uint8), pixels)
    idat = content.index(b"IDAT")
    length = int.from_bytes(content[idat - 4:idat], "big")
    assert zlib.crc32(content[idat:idat + 4 + length]) == int.from_bytes(
        content[idat + 4 + length:idat + 8 + length], "big")


def test_png_bytes_refuses_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match=r"expected uint8 pixels of shape \(H, W\) or \(H, W, "
                                         r"3\), got float64 of shape \(2, 2\)"):
        png_bytes(np.zeros((2, 2)))


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),
    (0.675, 0.695, [0.675, 0.68, 0.685, 0.69, 0.695]),
    (0.3, 0.3, [-0.25, 0.0, 0.25, 0.5, 0.75, 1.0]),
    (3.0, 47.0, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0])])
def test_nice_ticks_cover_the_range_in_round_steps(low: float, high: float,
                                                   expected: list[float]) -> None:
    assert nice_ticks(low, high) == pytest.approx(expected)


# --- in a browser -------------------------------------------------------------------------------


def chromium() -> str | None:
    """The headless browser: $LAYERWISE_CHROMIUM, or chromium / chromium-browser on the PATH."""
    chosen = os.environ.get("LAYERWISE_CHROMIUM")
    if chosen:
        return chosen
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Put first in <head> of a copy of the report, before its Content-Security-Policy (which
# forbids scripts from there on), so it runs; it records every CSP violation, every load error
# (an error event of an <img> does not bubble, so it is caught on the way down) and every
# console.error/warn, and after the load event writes what it found into the DOM.
PROBE = """<script>
window.__problems = [];
document.addEventListener("securitypolicyviolation",
  e => window.__problems.push("blocked by the CSP: " + e.blockedURI));
window.addEventListener("error",
  e => window.__problems.push("error: " + (e.message || (e.target && e.target.src) || "?")), true);
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...parts) => { window.__problems.push(level + ": " + parts.join(" "));
                                   original.apply(console, parts); };
}
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const probe = document.createElement("pre");
  probe.id = "layerwise-probe";
  probe.textContent = JSON.stringify({
    images: images.length,
    undecoded: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    problems: window.__problems});
  document.body.appendChild(probe);
});
</script>"""


def run_chromium(binary: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--hide-scrollbars", *arguments],
                          capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT)


def take_screenshot(binary: str, page: Path, picture: Path, width: int = 1200,
                    height: int = 1600) -> None:
    """A screenshot of the top `height` pixels of `page` at a `width`-pixel window."""
    finished = run_chromium(binary, f"--screenshot={picture}", f"--window-size={width},{height}",
                            page.resolve().as_uri())
    assert finished.returncode == 0 and picture.is_file(), finished.stderr[-2000:]


def browser_check(binary: str, report: Path, folder: Path) -> tuple[dict[str, Any], list[str]]:
    """Open a probed copy of `report`: what the probe wrote into the DOM, and the console lines
    that Chromium logged to stderr (`--enable-logging=stderr --v=0` prints each console message
    as `...:INFO:CONSOLE...`)."""
    probed = folder / "probed.html"
    text = report.read_text(encoding="utf-8")
    assert "<head>\n" in text
    probed.write_text(text.replace("<head>\n", "<head>\n" + PROBE + "\n", 1), encoding="utf-8")
    finished = run_chromium(binary, "--enable-logging=stderr", "--v=0",
                            "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    assert finished.returncode == 0, finished.stderr[-2000:]
    found = re.search(r'<pre id="layerwise-probe">(.*?)</pre>', finished.stdout, re.DOTALL)
    assert found is not None, "the probe did not run: no result in the DOM"
    import html

    console = [line for line in finished.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(found[1])), console


@pytest.fixture(scope="module")
def browser() -> str:
    binary = chromium()
    if binary is None:
        pytest.skip("no chromium or chromium-browser on the PATH and no $LAYERWISE_CHROMIUM: "
                    "`make browser` installs Debian's chromium (as root, where apt works)")
    return binary


@pytest.mark.parametrize("name", ["fashion_run", "cnn_run", "spiral_run"])
def test_in_chromium(name: str, browser: str, request: pytest.FixtureRequest,
                     tmp_path: Path) -> None:
    """Headless Chromium opens the report: (a) a screenshot is a PNG of the window's size that
    is not blank (dark text and coloured pictures on white); (b) a copy with PROBE first in its
    <head> finds every <img> decoded (naturalWidth > 0 after the load event), no request the
    page's Content-Security-Policy blocked, no error event and no console message; Chromium's
    own console log on stderr must be empty too (PROBE itself logs nothing). `--dump-dom`
    prints the DOM after the load event, and `--virtual-time-budget` lets the page settle
    first. A broken copy (an http:// image, a corrupt PNG) must fail both checks, so the
    checks can see what they look for."""
    run = request.getfixturevalue(name)
    folder = run[0] if isinstance(run, tuple) else run
    report = folder / "report.html"
    screenshot = tmp_path / "screenshot.png"
    take_screenshot(browser, report, screenshot, 1000, 1400)
    matplotlib_image = pytest.importorskip("matplotlib.image")
    pixels = np.asarray(matplotlib_image.imread(screenshot))
    assert pixels.shape[:2] == (1400, 1000)
    gray = pixels[..., :3].mean(axis=2)
    assert gray.std() > 0.05 and 0.001 < np.mean(gray < 0.5) < 0.5  # some ink, mostly paper
    assert np.mean(pixels[..., :3].std(axis=2) > 0.1) > 0.001  # and colour

    result, console = browser_check(browser, report, tmp_path)
    images = len(Page(report.read_text(encoding="utf-8")).images())
    assert result == {"images": images, "undecoded": [], "problems": []}
    assert console == []

    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text(encoding="utf-8").replace(
        "</body>", '<img src="http://example.invalid/a.png" alt="remote">'
                   '<img src="data:image/png;base64,AAAA" alt="corrupt"></body>'))
    result, console = browser_check(browser, broken, tmp_path)
    assert result["undecoded"] == ["remote", "corrupt"] and result["problems"]
    assert any("Content Security Policy" in line for line in console)
