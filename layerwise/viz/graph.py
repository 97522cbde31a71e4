"""The computational graph behind a tensor, as data and as a picture.

`graph(loss)` walks what the engine recorded: each result of an op keeps the op (`grad_fn`),
the inputs that require grad (`_inputs`) and every Tensor input with its version
(`_recorded_versions`, which also names the inputs that require no grad, such as a batch of
images or the labels). One node is made per op (showing the op and its output), one per leaf
that requires grad (a parameter, an input you made with requires_grad=True) and one per tensor
that enters without requiring grad (data, labels); one edge per use of a value, so a value used
twice has two edges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from layerwise import engine
from layerwise.tensor import Tensor
from layerwise.viz.layout import layout
from layerwise.viz.svg import Box, render

DEFAULT_MAX_NODES = 2000
DIRECTIONS = ("right", "down")


@dataclass(frozen=True)
class GraphNode:
    """One box of the picture.

    Attributes:
        id: "n0", "n1", ... in an order where every node comes after its inputs.
        kind: "op" (an op and the tensor it produced), "leaf" (a tensor that requires grad and
            was made by you: a parameter, an input) or "tensor" (a tensor that requires no
            grad, read by an op: data, labels, a constant).
        label: the op's class name for an op (Linear, ReLU, SoftmaxCrossEntropy); for a leaf
            or tensor its name from `params` (0.weight), else its shape (and requires_grad).
        shape: of the op's output, or of the tensor.
        dtype: its dtype's name.
        value: the values: a number for one element, the elements for up to 4 in a vector,
            else "mean m, min a, max b".
        grad: the gradient of the output with respect to this tensor, as `value`; None when
            none is shown (see `graph`'s `gradients`).
        op: the op's class name for an op node, else None.
        name: the name given in `params` or by `model`, else None.
        constants: how many inputs of the op were arrays or numbers, not Tensors (x * 2):
            the graph does not keep them, so they are counted, not drawn.
    """

    id: str
    kind: str
    label: str
    shape: tuple[int, ...]
    dtype: str
    value: str
    grad: str | None
    op: str | None = None
    name: str | None = None
    constants: int = 0


@dataclass(frozen=True)
class GraphEdge:
    """A value flowing into an op: `source` is read by `target` as its input `position`."""

    source: str
    target: str
    position: int


@dataclass
class Graph:
    """The graph of a computation: `nodes`, `edges`, and its picture (`svg()`, `save()`, shown
    inline by Jupyter).

    Attributes:
        nodes, edges: GraphNode and GraphEdge lists, every node after its inputs.
        output: the id of the output's node (None when summarized).
        gradients: what the red lines show: "computed" (d output / d node, by graph()),
            "stored" (what `.grad` held) or "none".
        node_count, edge_count, depth, op_counts: the size of the graph, its longest chain of
            ops, and the number of ops of each class; known even when summarized.
        summarized: True when the graph had more than `max_nodes` nodes: `nodes` and `edges`
            are then empty and the picture shows `summary` instead of the nodes.
        unused_names: names given in `params` or by `model` whose tensors are not in the graph
            (a layer the output does not depend on).
    """

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    output: str | None
    gradients: str
    node_count: int
    edge_count: int
    depth: int
    op_counts: dict[str, int]
    max_nodes: int
    summarized: bool = False
    unused_names: list[str] = field(default_factory=list)
    direction: str = "right"
    title: str | None = None
    _svg: str | None = field(default=None, repr=False, compare=False)

    @property
    def summary(self) -> str:
        """What the graph holds, in one paragraph (said for every graph, drawn or not)."""
        ops = ", ".join(f"{name} x{count:,}" for name, count in
                        sorted(self.op_counts.items(), key=lambda item: (-item[1], item[0])))
        text = (f"{self.node_count:,} nodes ({sum(self.op_counts.values()):,} ops: {ops}), "
                f"{self.edge_count:,} edges, depth {self.depth:,} ops from the first input to "
                f"the output")
        if self.summarized:
            text += (f"; more than max_nodes={self.max_nodes:,}, so summarized rather than "
                     f"drawn node by node (pass a larger max_nodes to draw it, or graph a part "
                     f"of the computation)")
        return text

    def node(self, label: str) -> GraphNode:
        """The node with this label or name (an op's class, a parameter's name); KeyError
        when there is none or several."""
        found = [node for node in self.nodes if label in (node.label, node.name)]
        if len(found) != 1:
            labels = sorted({node.label for node in self.nodes})
            raise KeyError(f"Graph.node: {len(found)} nodes are labelled {label!r} (labels: "
                           f"{labels})")
        return found[0]

    def inputs(self, node_id: str) -> list[GraphNode]:
        """The nodes that `node_id` reads, in the order of its inputs (once per use)."""
        by_id = {node.id: node for node in self.nodes}
        return [by_id[edge.source] for edge in
                sorted((e for e in self.edges if e.target == node_id), key=lambda e: e.position)]

    def svg(self) -> str:
        """The picture: a self-contained SVG document (no scripts, fonts or links)."""
        if self._svg is None:
            self._svg = self._draw()
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the SVG to `path` (ending in .svg) through a temporary file and a rename, so
        that a reader never sees half a picture; return the path."""
        target = Path(path)
        if target.suffix.lower() != ".svg":
            raise ValueError(f"Graph.save writes SVG: give a path ending in .svg, got "
                             f"{str(path)!r}")
        from layerwise.checkpoint import write_atomically

        write_atomically(target, self.svg().encode("utf-8"))
        return target

    def __repr__(self) -> str:
        drawn = "summarized" if self.summarized else "drawn"
        return f"<Graph {drawn}: {self.summary}>"

    def _draw(self) -> str:
        header = [self.title] if self.title else []
        if self.summarized:
            return _draw_summary(self, header)
        boxes = [_box(node) for node in self.nodes]
        index = {node.id: position for position, node in enumerate(self.nodes)}
        placed = layout([box.size for box in boxes],
                        [(index[edge.source], index[edge.target]) for edge in self.edges],
                        self.direction)
        footer = [_GRADIENT_NOTES[self.gradients]]
        if self.unused_names:
            footer.append("not in this graph: " + ", ".join(self.unused_names))
        description = f"Computational graph: {self.summary}"
        return render(boxes, placed, header, footer, description)


_GRADIENT_NOTES = {
    "computed": "green: values; red: gradients d(output)/d(node), computed by graph()",
    "stored": "green: values; red: gradients stored in .grad (leaves, and retain_grad())",
    "none": "green: values (gradients not shown)",
}


def _box(node: GraphNode) -> Box:
    title = node.label if node.name is None or node.op is None \
        else f"{node.op} \u2192 {node.name}"
    lines: list[tuple[str, str]] = [(title, "title")]
    shape = shape_text(node.shape)
    detail = node.dtype if node.label.startswith(shape) else f"{shape} {node.dtype}"
    lines.append((detail, "detail"))
    if node.constants:
        plural = "s" * (node.constants > 1)
        lines.append((f"+{node.constants} array or number input{plural}", "detail"))
    lines.extend(_summary_lines("value", node.value))
    if node.grad is not None:
        lines.extend(_summary_lines("grad", node.grad))
    elif node.kind == "tensor":
        lines.append(("no grad", "detail"))
    return Box(node.kind, tuple(lines))


def _summary_lines(style: str, text: str) -> list[tuple[str, str]]:
    """"value mean m" and "  min a, max b" on two lines, to keep the boxes narrow."""
    if not text.startswith("mean "):
        return [(f"{style} {text}", style)]
    mean, _, extremes = text.partition(", ")
    return [(f"{style} {mean}", style), (" " * len(style) + " " + extremes, style)]


def _draw_summary(graph: Graph, header: list[str]) -> str:
    lines: list[tuple[str, str]] = [
        (f"Graph of {graph.node_count:,} nodes: summarized, not drawn", "title"),
        (f"more than max_nodes={graph.max_nodes:,}; pass a larger max_nodes to draw it", "detail"),
        (f"{graph.edge_count:,} edges; depth {graph.depth:,} ops from input to output", "detail"),
    ]
    for name, count in sorted(graph.op_counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append((f"{name} x{count:,}", "value"))
    leaves = graph.node_count - sum(graph.op_counts.values())
    lines.append((f"leaves and input tensors: {leaves:,}", "value"))
    box = Box("summary", tuple(lines))
    placed = layout([box.size], [], graph.direction)
    return render([box], placed, header, [], f"Computational graph, summarized: {graph.summary}")


def shape_text(shape: tuple[int, ...]) -> str:
    """(2, 3) as "(2, 3)", and () as "scalar"."""
    return "scalar" if shape == () else str(tuple(shape))


def number_text(value: Any) -> str:
    """A number in 4 significant digits: -12, 0.7311, 1.235e-05, nan; True for a bool."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, complex | np.complexfloating):
        return f"{complex(value):.4g}"
    text = f"{float(value):.4g}"
    return "0" if text == "-0" else text


def array_text(array: np.ndarray) -> str:
    """A short description of an array's values: see GraphNode.value."""
    if array.size == 1:
        return number_text(array.reshape(()).item())
    if array.size == 0:
        return "empty"
    if array.ndim == 1 and array.size <= 4:
        return "[" + ", ".join(number_text(item) for item in array.tolist()) + "]"
    with np.errstate(all="ignore"):
        if array.dtype.kind == "c":
            return (f"mean {number_text(array.mean())}, "
                    f"max |x| {number_text(np.abs(array).max())}")
        values = array.astype(np.int64) if array.dtype.kind == "b" else array
        return (f"mean {number_text(values.mean(dtype=np.float64))}, "
                f"min {number_text(values.min())}, max {number_text(values.max())}")


def graph(output: Tensor, params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None
          = None, *, model: Any = None, gradients: bool | None = None,
          grad_output: Any = None, max_nodes: int = DEFAULT_MAX_NODES,
          direction: str = "right", title: str | None = None) -> Graph:
    """The computational graph that produced `output`, with values and gradients.

    Args:
        output: the result of a computation (a loss, or any tensor made by ops from inputs
            that require grad).
        params: names for tensors: a dict {name: tensor} or `model.named_parameters()`, as
            torchviz takes. Any tensor of the graph may be named (a parameter, an input, an
            intermediate result); unnamed leaves are labelled by their shape.
        model: a Module whose `named_parameters()` name its parameters (with `params`, both
            are used).
        gradients: which gradients to show beside the values.
            None (the default): computed ones when `output` has one element (a loss) or
            `grad_output` is given, else what `.grad` holds.
            True: computed; needs a one-element output or `grad_output`.
            False: only what `.grad` holds: leaves after `backward(retain_graph=True)`, and
            tensors that called `retain_grad()`.
        grad_output: d(something)/d(output), of output's shape, to start the computed
            gradients from (1 for a one-element output).
        max_nodes: above this many nodes the graph is summarized (op counts and depth), not
            drawn node by node; the result says so (`summarized`, `summary`).
        direction: "right" (inputs on the left, the output on the right, as the lectures draw)
            or "down".
        title: a line written above the picture.

    Returns:
        a Graph: `.nodes`, `.edges`, `.svg()`, `.save(path)`, shown inline by Jupyter.

    Why gradients are computed: the engine keeps gradients only where PyTorch does (in the
    `.grad` of leaves and of tensors that called retain_grad()): an intermediate result's
    gradient is handed to its op's backward and dropped. And `backward()` frees the graph it
    walks, so a graph cannot be drawn after a plain `backward()`. So graph() runs a backward
    pass of its own through `layerwise.engine.grad` with retain_graph=True: it records the
    gradient arriving at every node (d output / d node, summed over all the node's uses),
    writes no `.grad`, and leaves the graph intact for your own `backward()`. Call
    `lw.viz.graph(loss)` before `loss.backward()`; or call `loss.backward(retain_graph=True)`
    first, where the gradients shown are the same for a single backward. Where `.grad`
    accumulated over several backward calls, `gradients=False` shows those sums instead.

    Values are read when graph() runs: a tensor changed in place after it was used shows its
    new values.

    Example:
        >>> x, y, z = (lw.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
        >>> f = (x + y) * z
        >>> picture = lw.viz.graph(f, {"x": x, "y": y, "z": z})
        >>> picture.node("x").grad
        '-4'
        >>> picture.save("circuit.svg")
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"graph: expected a Tensor, the result of a computation, got "
                        f"{type(output).__name__}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int | np.integer) \
            or max_nodes < 1:
        raise ValueError(f"graph: max_nodes must be a positive integer, got {max_nodes!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"graph: direction must be 'right' or 'down', got {direction!r}")
    if gradients not in (None, True, False):
        raise TypeError(f"graph: gradients must be True, False or None, got {gradients!r}")
    names = _names(params, model)
    _check_has_graph(output)

    tensors, sources, depth = _walk(output)
    edge_count = sum(len(inputs) for inputs in sources)
    op_counts = Counter(type(t.grad_fn).__name__ for t in tensors if t.grad_fn is not None)
    in_graph = {id(tensor) for tensor in tensors}
    unused = [name for key, name in names.items() if key not in in_graph]
    facts: dict[str, Any] = {
        "node_count": len(tensors), "edge_count": edge_count, "depth": depth,
        "op_counts": dict(sorted(op_counts.items())), "max_nodes": int(max_nodes),
        "unused_names": unused, "direction": direction, "title": title}
    if len(tensors) > max_nodes:
        return Graph([], [], None, "none", summarized=True, **facts)

    compute = gradients is True or (gradients is None and (
        output.data.size == 1 or grad_output is not None))
    if compute:
        grads = _computed_gradients(output, tensors, grad_output)
        shown = "computed"
    else:
        grads = _stored_gradients(tensors)
        shown = "stored" if gradients is False or any(
            grad is not None for grad in grads.values()) else "none"

    nodes = [_node(position, tensor, names.get(id(tensor)), grads.get(id(tensor)),
                   len(tensor._inputs) - len(sources[position]))
             for position, tensor in enumerate(tensors)]
    edges = [GraphEdge(f"n{source}", f"n{target}", position)
             for target, inputs in enumerate(sources) for source, position in inputs]
    return Graph(nodes, edges, f"n{len(tensors) - 1}", shown, **facts)


def _names(params: Any, model: Any) -> dict[int, str]:
    """{id(tensor): name} from `params` (a mapping or (name, tensor) pairs) and `model`."""
    pairs: list[Any] = []
    if model is not None:
        if not callable(getattr(model, "named_parameters", None)):
            raise TypeError(f"graph: model must be a Module (something with "
                            f"named_parameters()), got {type(model).__name__}")
        pairs.extend(model.named_parameters())
    if params is not None:
        if isinstance(params, Tensor | str | bytes) or not isinstance(params, Mapping | Iterable):
            raise TypeError(f"graph: params must map names to tensors (a dict, or "
                            f"model.named_parameters()), got {type(params).__name__}")
        pairs.extend(params.items() if isinstance(params, Mapping) else params)
    names: dict[int, str] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], Tensor)):
            shown = type(pair[1]).__name__ if isinstance(pair, tuple) and len(pair) == 2 \
                else type(pair).__name__
            raise TypeError(f"graph: params must map names (str) to tensors, as "
                            f"model.named_parameters() does; got an entry {shown}"
                            + (f" named {pair[0]!r}" if isinstance(pair, tuple)
                               and len(pair) == 2 else ""))
        names.setdefault(id(pair[1]), pair[0])
    return names


def _check_has_graph(output: Tensor) -> None:
    if output.grad_fn is None:
        if output.requires_grad:
            raise ValueError(
                f"graph: this tensor (shape {output.shape}) is a leaf, made by you and not by "
                f"an op, so there is no computation to draw; pass the result of one, such as "
                f"the loss")
        raise ValueError(
            f"graph: this tensor (shape {output.shape}) has no recorded computation: it "
            f"requires no grad, so it was made under no_grad(), from inputs none of which "
            f"requires grad, or directly by you; give an input requires_grad=True and compute "
            f"it outside no_grad()")


def _freed(tensor: Tensor) -> bool:
    """Whether backward() already freed this op's part of the graph (it empties `_inputs`)."""
    op = tensor.grad_fn
    return op is not None and (op.released or not any(p is not None for p in tensor._inputs))


_FREED = ("graph: the graph behind this tensor was freed by backward(); call "
          "lw.viz.graph(loss) before loss.backward() (it computes the gradients itself), or "
          "call loss.backward(retain_graph=True) first")


def _walk(output: Tensor) -> tuple[list[Tensor], list[list[tuple[int, int]]], int]:
    """Every tensor the output depends on, each after its inputs; for each, its inputs as
    (index of the input's tensor, position among the op's inputs); and the depth in ops."""
    tensors: list[Tensor] = []
    index: dict[int, int] = {}
    sources: list[list[tuple[int, int]]] = []
    depth: list[int] = []

    def add(tensor: Tensor, inputs: list[tuple[int, int]]) -> None:
        index[id(tensor)] = len(tensors)
        tensors.append(tensor)
        sources.append(inputs)
        depth.append(1 + max((depth[source] for source, _ in inputs), default=-1)
                     if tensor.grad_fn is not None else 0)

    for tensor in engine.topological_order(output):
        if _freed(tensor):
            raise RuntimeError(_FREED)
        inputs = []
        for position, source in _tensor_inputs(tensor):
            if id(source) not in index:  # a tensor that requires no grad, first read here
                add(source, [])
            inputs.append((index[id(source)], position))
        add(tensor, inputs)
    return tensors, sources, max(depth)


def _tensor_inputs(tensor: Tensor) -> list[tuple[int, Tensor]]:
    """The Tensor inputs of the op that made `tensor`, with their positions.

    `_inputs` has one entry per input, None where it requires no grad; `_recorded_versions`
    lists every Tensor input in order, so the tensors missing from `_inputs` are found there
    (an input that was an array or a number is in neither)."""
    if tensor.grad_fn is None:
        return []
    recorded = [source for source, _ in tensor._recorded_versions]
    found: list[tuple[int, Tensor]] = []
    next_recorded = 0
    for position, parent in enumerate(tensor._inputs):
        if parent is not None:
            while next_recorded < len(recorded) and recorded[next_recorded] is not parent:
                next_recorded += 1
            next_recorded += 1
            found.append((position, parent))
        elif next_recorded < len(recorded) and not any(
                recorded[next_recorded] is later for later in tensor._inputs[position + 1:]):
            found.append((position, recorded[next_recorded]))
            next_recorded += 1
    return found


def _computed_gradients(output: Tensor, tensors: list[Tensor], grad_output: Any
                        ) -> dict[int, np.ndarray | None]:
    if output.data.size != 1 and grad_output is None:
        raise ValueError(
            f"graph: gradients=True needs a one-element output (a loss) or grad_output= an "
            f"array of the output's shape {output.shape}; got an output of shape "
            f"{output.shape}")
    targets = [tensor for tensor in tensors if tensor.requires_grad]
    computed = engine.grad(output, targets, grad_output, retain_graph=True)
    return {id(tensor): grad for tensor, grad in zip(targets, computed, strict=True)}


def _stored_gradients(tensors: list[Tensor]) -> dict[int, np.ndarray | None]:
    stored: dict[int, np.ndarray | None] = {}
    for tensor in tensors:
        grad = tensor.grad if tensor.is_leaf or tensor.retains_grad else None
        stored[id(tensor)] = None if grad is None else np.asarray(getattr(grad, "data", grad))
    return stored


def _node(position: int, tensor: Tensor, name: str | None, grad: np.ndarray | None,
          constants: int) -> GraphNode:
    op = type(tensor.grad_fn).__name__ if tensor.grad_fn is not None else None
    if op is not None:
        kind, label = "op", op
    else:
        kind = "leaf" if tensor.requires_grad else "tensor"
        label = name if name is not None else (
            shape_text(tensor.shape) + (" requires_grad" if tensor.requires_grad else ""))
    return GraphNode(
        id=f"n{position}", kind=kind, label=label, shape=tuple(tensor.shape),
        dtype=str(tensor.dtype), value=array_text(tensor.data),
        grad=None if grad is None else array_text(np.asarray(grad)), op=op, name=name,
        constants=constants)
