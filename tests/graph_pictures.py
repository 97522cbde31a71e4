"""The graph pictures of docs/backprop.md and docs/diagnostics.md, made by `lw.viz.graph`.

`python -m tests.graph_pictures` (from the repository's root) writes them again into
docs/images/; tests/test_viz_graph.py makes each one and checks it against the file there, and
checks the numbers on its nodes against the worked examples.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import layerwise as lw
import layerwise.functional as F
from layerwise.models import build_model, input_statistics
from layerwise.train.config import RunConfig
from layerwise.viz import Graph

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def scalars(*values: float) -> list[lw.Tensor]:
    return [lw.tensor(value, requires_grad=True, dtype=np.float64) for value in values]


def lecture_circuit() -> Graph:
    """q = x + y, f = q z at x = -2, y = 5, z = -4: f = -12, df/dx = df/dy = -4, df/dz = 3."""
    x, y, z = scalars(-2.0, 5.0, -4.0)
    q = x + y
    f = q * z
    return lw.viz.graph(f, {"x": x, "y": y, "z": z, "q": q, "f": f},
                        title="q = x + y, f = q z at x = -2, y = 5, z = -4")


def sigmoid_neuron() -> Graph:
    """f = sigmoid(w0 x0 + w1 x1 + w2) at w = (2, -3, -3), x = (-1, -2): f = 0.73."""
    w0, w1, w2, x0, x1 = scalars(2.0, -3.0, -3.0, -1.0, -2.0)
    f = F.sigmoid(w0 * x0 + w1 * x1 + w2)
    return lw.viz.graph(f, {"w0": w0, "w1": w1, "w2": w2, "x0": x0, "x1": x1, "f": f},
                        title="f = sigmoid(w0 x0 + w1 x1 + w2)")


def used_three_times() -> Graph:
    """f = sum(x * x + x) at x = (1, 3): x is read three times, df/dx = 2 x + 1 = (3, 7)."""
    x = lw.tensor(np.array([1.0, 3.0]), requires_grad=True)
    f = (x * x + x).sum()
    return lw.viz.graph(f, {"x": x, "f": f}, title="f = sum(x * x + x): x is used three times")


def three_linear_layers() -> Graph:
    """L = 1/2 ||W3 W2 W1 x - y||^2 with the random values of docs/backprop.md."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 1))
    y = rng.standard_normal((2, 1))
    W1 = lw.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    W2 = lw.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    W3 = lw.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    loss = 0.5 * ((W3 @ (W2 @ (W1 @ x)) - y) ** 2).sum()
    return lw.viz.graph(loss, {"W1": W1, "W2": W2, "W3": W3, "L": loss},
                        title="L = 1/2 ||W3 W2 W1 x - y||^2")


def mlp_step() -> Graph:
    """One training step's forward pass of the reference MLP, 784-256-128-10 with ReLU and
    dropout, on a batch of 32 made-up images, with the recipe's loss (label smoothing 0.1)."""
    config = RunConfig(hidden=[256, 128])
    rng = np.random.default_rng(0)
    images = rng.random((32, 784)).astype(np.float32)
    labels = rng.integers(0, 10, size=32)
    mean, std = input_statistics(config, images)
    model, _ = build_model(config, (784,), 10, mean, std)
    model.train()
    loss = F.cross_entropy(model(lw.tensor(images)), lw.tensor(labels), label_smoothing=0.1)
    return lw.viz.graph(loss, model=model,
                        title="One training step of the reference MLP: 784-256-128-10, a "
                              "batch of 32")


PICTURES: dict[str, Callable[[], Graph]] = {
    "graph_lecture_circuit.svg": lecture_circuit,
    "graph_sigmoid_neuron.svg": sigmoid_neuron,
    "graph_used_three_times.svg": used_three_times,
    "graph_three_linear_layers.svg": three_linear_layers,
    "graph_mlp_step.svg": mlp_step,
}


def main() -> None:
    for file_name, make in PICTURES.items():
        path = make().save(IMAGES / file_name)
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
