"""lw.viz.graph: the structure it finds, the numbers it shows, the pictures it draws."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import layerwise as lw
import layerwise.functional as F
from layerwise import nn
from layerwise.viz import Graph, graph
from layerwise.viz.graph import array_text, number_text
from layerwise.viz.layout import DUMMY_BUDGET, NODE_GAP, layer_nodes, layout
from tests import graph_pictures

SVG = "{http://www.w3.org/2000/svg}"


def scalars(*values: float) -> list[lw.Tensor]:
    return [lw.tensor(value, requires_grad=True, dtype=np.float64) for value in values]


def parsed(picture: Graph) -> ET.Element:
    """The SVG as XML (ElementTree raises on anything that is not well-formed)."""
    root = ET.fromstring(picture.svg())
    assert root.tag == f"{SVG}svg"
    return root


def boxes(picture: Graph) -> dict[str, tuple[float, float]]:
    """{first line of a box: (x, y) of its rectangle's centre}, read from the SVG."""
    found = {}
    for group in parsed(picture).iter(f"{SVG}g"):
        rect, text = group.find(f"{SVG}rect"), group.find(f"{SVG}text")
        if rect is not None and text is not None and group.get("class") in ("op", "leaf",
                                                                              "tensor"):
            left, top = float(rect.get("x", "0")), float(rect.get("y", "0"))
            found[text.text or ""] = (left + float(rect.get("width", "0")) / 2,
                                      top + float(rect.get("height", "0")) / 2)
    return found


def edge_pairs(picture: Graph) -> list[tuple[str, str, int]]:
    labels = {node.id: node.name or node.label for node in picture.nodes}
    return sorted((labels[e.source], labels[e.target], e.position) for e in picture.edges)


# --- the worked examples of docs/backprop.md ---------------------------------------------------


def test_the_lecture_circuit_has_its_values_and_gradients() -> None:
    picture = graph_pictures.lecture_circuit()
    assert [(n.label, n.kind) for n in picture.nodes] == [
        ("x", "leaf"), ("y", "leaf"), ("Add", "op"), ("z", "leaf"), ("Mul", "op")]
    assert edge_pairs(picture) == [("q", "f", 0), ("x", "q", 0), ("y", "q", 1), ("z", "f", 1)]
    value = {n.name: n.value for n in picture.nodes}
    grad = {n.name: n.grad for n in picture.nodes}
    assert value == {"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}
    assert grad == {"x": "-4", "y": "-4", "z": "3", "q": "-4", "f": "1"}
    assert picture.output == picture.node("f").id and picture.gradients == "computed"
    texts = [t.text for t in parsed(picture).iter(f"{SVG}text")]
    assert "Mul \u2192 f" in texts and "value -12" in texts and "grad 3" in texts


def test_the_sigmoid_neuron_matches_the_chain_rule() -> None:
    picture = graph_pictures.sigmoid_neuron()
    s = 1 / (1 + math.exp(-1.0))
    upstream = s * (1 - s)
    expected = {"x0": 2.0 * upstream, "w0": -1.0 * upstream, "x1": -3.0 * upstream,
                "w1": -2.0 * upstream, "w2": upstream, "f": 1.0}
    for name, gradient in expected.items():
        assert picture.node(name).grad == number_text(gradient), name
    assert picture.node("f").value == "0.7311" == number_text(s)
    assert [n.value for n in picture.nodes if n.op == "Add"] == ["4", "1"]
    assert [n.grad for n in picture.nodes if n.op == "Mul"] == ["0.1966", "0.1966"]


def test_a_value_used_three_times_has_three_edges_and_their_summed_gradient() -> None:
    picture = graph_pictures.used_three_times()
    x = picture.node("x")
    assert [(e.target, e.position) for e in picture.edges if e.source == x.id] == [
        (picture.node("Mul").id, 0), (picture.node("Mul").id, 1), (picture.node("Add").id, 1)]
    assert [n.label for n in picture.inputs(picture.node("Mul").id)] == ["x", "x"]
    assert x.grad == "[3, 7]"          # df/dx = x + x + 1
    assert picture.node("f").value == "14"
    # Two arrows into Mul from the same box, drawn apart:
    paths = [p.get("d") for p in parsed(picture).iter(f"{SVG}path")]
    assert len(paths) == len(picture.edges) == 5 and len(set(paths)) == 5


def test_the_three_linear_layers_show_the_engines_gradients() -> None:
    picture = graph_pictures.three_linear_layers()
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    W1, W2, W3 = (lw.tensor(rng.standard_normal(shape), requires_grad=True)
                  for shape in [(5, 4), (3, 5), (2, 3)])
    loss = 0.5 * ((W3 @ (W2 @ (W1 @ x)) - y) ** 2).sum()
    loss.backward()
    for name, weight in {"W1": W1, "W2": W2, "W3": W3}.items():
        node = picture.node(name)
        assert (node.shape, node.grad) == (weight.shape, array_text(weight.grad.data))
    assert picture.node("L").value == number_text(loss.item())
    assert [n.op for n in picture.nodes if n.kind == "op"] == [
        "MatMul", "MatMul", "MatMul", "Sub", "Pow", "Sum", "Mul"]
    # x, y, 2 and 0.5 were arrays and numbers: counted on their ops, not drawn.
    assert [n.constants for n in picture.nodes if n.kind == "op"] == [1, 0, 0, 1, 1, 0, 1]


@pytest.mark.parametrize("file_name", sorted(graph_pictures.PICTURES))
def test_the_pictures_in_the_docs_are_what_the_code_draws(file_name: str) -> None:
    """`python -m tests.graph_pictures` writes them again when the drawing changes."""
    drawn = graph_pictures.PICTURES[file_name]().svg()
    saved = (graph_pictures.IMAGES / file_name).read_text(encoding="utf-8")
    ET.fromstring(saved)
    if file_name != "graph_mlp_step.svg":
        assert drawn == saved
        return
    # The MLP computes in float32 with BLAS, whose sums may differ in the last bits between
    # machines: everything but the numbers must match exactly, the numbers to 1e-3.
    number = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?")
    assert number.sub("#", drawn) == number.sub("#", saved)
    assert np.allclose([float(n) for n in number.findall(drawn)],
                       [float(n) for n in number.findall(saved)], rtol=1e-3, atol=1e-6)


# --- structure ---------------------------------------------------------------------------------


def test_broadcasting_sums_the_gradient_back_to_the_input_shape() -> None:
    x = lw.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    b = lw.tensor(np.array([10.0, 20.0, 30.0]), requires_grad=True)
    c = lw.tensor(0.5, requires_grad=True, dtype=np.float64)
    picture = graph(((x + b) * c).sum(), {"x": x, "b": b, "c": c})
    assert picture.node("Add").shape == (2, 3)
    assert picture.node("b").grad == "[1, 1, 1]"          # 0.5, summed over 2 rows
    assert picture.node("c").grad == number_text(x.data.sum() + 2 * 60.0)
    assert picture.node("x").grad == "mean 0.5, min 0.5, max 0.5"
    assert picture.node("Add").value == "mean 23.5, min 11, max 36"     # 3.5 + 20 on average


def test_tensors_without_grad_are_drawn_as_inputs_without_gradients() -> None:
    x = lw.tensor(np.array([1.0, 2.0]), requires_grad=True)
    data = lw.tensor(np.array([3.0, 4.0]))
    labels = lw.tensor([1, 0])
    picture = graph(F.cross_entropy(lw.stack([x * data, x * 2]), labels))
    tensors = [n for n in picture.nodes if n.kind == "tensor"]
    assert [(n.label, n.dtype, n.value, n.grad) for n in tensors] == [
        ("(2,)", "float64", "[3, 4]", None), ("(2,)", "int64", "[1, 0]", None)]
    leaf = picture.node("(2,) requires_grad")
    assert leaf.kind == "leaf" and leaf.grad is not None
    muls = [n for n in picture.nodes if n.op == "Mul"]
    assert [n.constants for n in muls] == [0, 1]            # x * data, then x * 2
    assert [n.label for n in picture.inputs(picture.node("SoftmaxCrossEntropy").id)] == [
        "Stack", "(2,)"]
    assert "no grad" in [t.text for t in parsed(picture).iter(f"{SVG}text")]


def test_graph_neither_touches_grad_nor_frees_the_graph() -> None:
    x, y, z = scalars(-2.0, 5.0, -4.0)
    f = (x + y) * z
    graph(f)
    assert x.grad is None and y.grad is None and z.grad is None
    f.backward()                          # the graph is still whole
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def test_stored_gradients_after_a_backward_that_keeps_the_graph() -> None:
    x, y, z = scalars(-2.0, 5.0, -4.0)
    f = (x + y) * z
    f.backward(retain_graph=True)
    f.backward(retain_graph=True)         # .grad accumulates: -8, -8, 6
    stored = graph(f, {"x": x, "y": y, "z": z}, gradients=False)
    assert [stored.node(name).grad for name in "xyz"] == ["-8", "-8", "6"]
    assert [n.grad for n in stored.nodes if n.kind == "op"] == [None, None]
    assert stored.gradients == "stored"
    computed = graph(f, {"x": x, "y": y, "z": z})
    assert [computed.node(name).grad for name in "xyz"] == ["-4", "-4", "3"]


def test_a_tensor_output_needs_a_gradient_to_start_from() -> None:
    x = lw.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x
    assert graph(y).gradients == "none"
    assert all(n.grad is None for n in graph(y).nodes)
    picture = graph(y, {"x": x}, grad_output=np.array([1.0, 0.0, -1.0]))
    assert picture.node("x").grad == "[2, 0, -6]"
    with pytest.raises(ValueError, match=r"gradients=True needs a one-element output"):
        graph(y, gradients=True)


def test_retain_grad_tensors_show_their_stored_gradient() -> None:
    x = lw.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    picture = graph(loss, {"h": h}, gradients=False)
    assert picture.node("h").grad == "[6, 12]"


# --- names ---------------------------------------------------------------------------------------


def small_model_loss() -> tuple[nn.Sequential, lw.Tensor]:
    lw.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    inputs = lw.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    return model, F.cross_entropy(model(inputs), lw.tensor([0, 1, 1, 0, 1]))


@pytest.mark.parametrize("how", ["named_parameters", "dict", "model"])
def test_parameters_are_labelled_with_their_module_names(how: str) -> None:
    model, loss = small_model_loss()
    options: dict[str, object] = {
        "named_parameters": {"params": model.named_parameters()},
        "dict": {"params": dict(model.named_parameters())},
        "model": {"model": model}}[how]
    picture = graph(loss, **options)  # type: ignore[arg-type]
    leaves = [n for n in picture.nodes if n.kind == "leaf"]
    assert [n.label for n in leaves] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n.shape for n in leaves] == [(3, 4), (3,), (2, 3), (2,)]
    weight = dict(model.named_parameters())["0.weight"]
    loss.backward()
    assert picture.node("0.weight").grad == array_text(weight.grad.data)


def test_without_names_leaves_are_labelled_by_shape_and_names_not_in_the_graph_are_said() -> None:
    model, loss = small_model_loss()
    unnamed = graph(loss)
    assert [n.label for n in unnamed.nodes if n.kind == "leaf"] == [
        "(3, 4) requires_grad", "(3,) requires_grad", "(2, 3) requires_grad",
        "(2,) requires_grad"]
    spare = nn.Parameter(np.zeros(3))
    named = graph(loss, {**dict(model.named_parameters()), "spare": spare})
    assert named.unused_names == ["spare"]
    assert "not in this graph: spare" in named.svg()


def test_the_mlp_step_is_laid_out_from_the_input_to_the_loss() -> None:
    picture = graph_pictures.mlp_step()
    names = ["1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"]
    assert [n.label for n in picture.nodes if n.kind == "leaf"] == names
    assert [n.op for n in picture.nodes if n.kind == "op"] == [
        "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear",
        "SoftmaxCrossEntropy"]
    assert picture.node("SoftmaxCrossEntropy").shape == ()
    assert float(picture.node("SoftmaxCrossEntropy").value) == pytest.approx(2.3, abs=0.1)
    where = boxes(picture)
    x = {label: where[label][0] for label in [*names, "(32, 784)", "SoftmaxCrossEntropy"]}
    assert x["(32, 784)"] == min(x.values()) and x["SoftmaxCrossEntropy"] == max(x.values())
    assert x["1.weight"] < x["4.weight"] < x["7.weight"]
    assert x["1.bias"] < x["4.bias"] < x["7.bias"]


# --- the picture ---------------------------------------------------------------------------------


def test_text_is_escaped_for_xml() -> None:
    x = lw.tensor(1.0, requires_grad=True)
    name = 'a<b> & "c"\x01'
    picture = graph(x * 2, {name: x}, title="<script>alert(1)</script>")
    root = parsed(picture)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert 'a<b> & "c"\ufffd' in texts and "<script>alert(1)</script>" in texts
    assert root.find(f".//{SVG}script") is None


def test_save_writes_the_svg_and_jupyter_gets_it_too(tmp_path: Path) -> None:
    picture = graph_pictures.lecture_circuit()
    path = picture.save(tmp_path / "circuit.svg")
    assert path.read_text(encoding="utf-8") == picture.svg() == picture._repr_svg_()
    assert [p.name for p in tmp_path.iterdir()] == ["circuit.svg"]   # no temporary left
    with pytest.raises(ValueError, match=r"Graph.save writes SVG: give a path ending in \.svg"):
        picture.save(tmp_path / "circuit.png")


def test_drawing_down_puts_the_output_at_the_bottom() -> None:
    x, y, z = scalars(-2.0, 5.0, -4.0)
    where = boxes(graph((x + y) * z, {"x": x, "y": y, "z": z}, direction="down"))
    assert where["x"][1] < where["Add"][1] < where["Mul"][1]


def test_layers_put_each_input_just_before_its_first_reader() -> None:
    # 0 -> 2 -> 3 -> 4, and 1 read only by 4: 1 moves next to 4.
    assert layer_nodes(5, [(0, 2), (2, 3), (3, 4), (1, 4)]) == [0, 2, 1, 2, 3]
    with pytest.raises(ValueError, match="cycle"):
        layer_nodes(2, [(0, 1), (1, 0)])


def test_layout_keeps_boxes_of_a_layer_apart_and_edges_at_their_ends() -> None:
    sizes = [(40.0, 20.0)] * 5
    edges = [(0, 3), (1, 3), (2, 3), (3, 4), (0, 4)]
    placed = layout(sizes, edges)
    column = sorted(placed.centers[v][1] for v in range(3))
    assert all(b - a >= 20.0 + NODE_GAP - 1e-9 for a, b in pairwise(column))
    for (source, target), route in zip(edges, placed.routes, strict=True):
        assert route[0][0] == pytest.approx(placed.centers[source][0] + 20)
        assert route[-1][0] == pytest.approx(placed.centers[target][0] - 20)
    assert len(placed.routes[4]) == 3          # 0 -> 4 spans two layers: one bend point


# --- large graphs --------------------------------------------------------------------------------


def long_chain(length: int) -> lw.Tensor:
    y = x = lw.tensor(np.ones(2), requires_grad=True)
    for _ in range(length):
        y = y * 1.0
    return y.sum() + x.sum()


def test_a_graph_over_max_nodes_is_summarized_and_says_so() -> None:
    picture = graph(long_chain(2500))
    assert picture.summarized and picture.nodes == [] and picture.edges == []
    assert picture.node_count == 2504 and picture.depth == 2502
    assert picture.op_counts == {"Add": 1, "Mul": 2500, "Sum": 2}
    assert "more than max_nodes=2,000, so summarized" in picture.summary
    texts = [t.text for t in parsed(picture).iter(f"{SVG}text")]
    assert "Graph of 2,504 nodes: summarized, not drawn" in texts and "Mul x2,500" in texts
    assert "summarized" in repr(picture)


def test_max_nodes_chooses_the_limit() -> None:
    chain = long_chain(30)
    assert graph(chain, max_nodes=33).summarized
    drawn = graph(chain, max_nodes=34)
    assert not drawn.summarized and len(drawn.nodes) == 34 and len(drawn.edges) == 34


def test_an_input_read_all_along_a_deep_graph_is_drawn_quickly() -> None:
    x = lw.tensor(np.ones(3), requires_grad=True)
    y = x
    for step in range(600):
        y = y * 1.0 + x if step % 3 == 0 else y * 1.0
    picture = graph(y.sum())
    assert len(picture.nodes) == 802 and not picture.summarized
    # x feeds 200 Adds at every depth: bending each of its edges through every layer on its
    # way would take about 200 x 400 points; the budget keeps them to 4 per node.
    segments = sum(path.get("d", "").count("C") for path in parsed(picture).iter(f"{SVG}path"))
    assert segments <= DUMMY_BUDGET * len(picture.nodes) + len(picture.edges)


# --- bad input -----------------------------------------------------------------------------------


def no_grad_result() -> lw.Tensor:
    x = lw.ones(3, requires_grad=True)
    with lw.no_grad():
        return x * 2


def freed_result() -> lw.Tensor:
    loss = (lw.ones(3, requires_grad=True) * 2).sum()
    loss.backward()
    return loss


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: graph([1.0, 2.0]), TypeError,
     "graph: expected a Tensor, the result of a computation, got list"),
    (lambda: graph(lw.ones(3, requires_grad=True)), ValueError,
     r"is a leaf, made by you and not by an op, so there is no computation to draw"),
    (lambda: graph(no_grad_result()), ValueError,
     r"has no recorded computation: it requires no grad, so it was made under no_grad\(\)"),
    (lambda: graph(freed_result()), RuntimeError,
     r"was freed by backward\(\); call lw.viz.graph\(loss\) before loss.backward\(\)"),
    (lambda: graph(long_chain(1), max_nodes=0), ValueError,
     "graph: max_nodes must be a positive integer, got 0"),
    (lambda: graph(long_chain(1), direction="left"), ValueError,
     "graph: direction must be 'right' or 'down', got 'left'"),
    (lambda: graph(long_chain(1), params=lw.ones(2)), TypeError,
     r"graph: params must map names to tensors \(a dict, or model.named_parameters\(\)\), "
     r"got Tensor"),
    (lambda: graph(long_chain(1), params={"w": np.ones(2)}), TypeError,
     "got an entry ndarray named 'w'"),
    (lambda: graph(long_chain(1), model=3), TypeError, "graph: model must be a Module"),
])
def test_bad_input_is_refused_in_the_users_terms(make: Callable[[], object],
                                                  error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_every_picture_is_shown_in_the_docs_and_every_shown_picture_exists() -> None:
    docs = graph_pictures.IMAGES.parent
    shown = set()
    for page in docs.glob("*.md"):
        shown |= set(re.findall(r"\]\(images/(graph_[\w.]+\.svg)\)", page.read_text("utf-8")))
    assert shown == set(graph_pictures.PICTURES)
    assert all((graph_pictures.IMAGES / name).stat().st_size < 300_000 for name in shown)


def test_the_package_reaches_viz() -> None:
    assert lw.viz.graph is graph and "viz" in lw.__all__
