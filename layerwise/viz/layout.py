"""A layered (Sugiyama-style) drawing of a directed acyclic graph, in pure Python.

The four classic steps, each kept small:

1. Layers. Longest path from the inputs: layer(v) = 1 + max over v's inputs of layer(input),
   0 for a node without inputs. Then, from the output back, every node moves forward to just
   before the first node that reads it (layer(v) = min over v's readers of layer(reader) - 1):
   the weights of a late layer sit next to that layer instead of among the first inputs, and
   W^T taken at every step of a loop sits next to the step that reads it.
2. Dummy nodes. An edge that spans k layers becomes a chain through k - 1 invisible points, so
   that every edge joins adjacent layers (and can bend around the boxes in between).
3. Order within layers. Barycenter sweeps: alternately down and up the layers, each node is
   placed at the mean position of its neighbours in the layer just swept; the order with the
   fewest edge crossings (counted exactly, as inversions) is kept.
4. Coordinates. Across the layers, each layer is as thick as its widest box. Along a layer,
   each node wants the mean coordinate of its neighbours in the previous layer of a sweep; the
   positions closest to those wishes (least squares) that keep the order and a minimum gap are
   found exactly by isotonic regression (pool adjacent violators), a few sweeps each way.

Everything is deterministic: the same graph gives the same drawing, to the last digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

LAYER_GAP = 56.0   # between the boxes of adjacent layers, along the direction of the edges
NODE_GAP = 18.0    # between neighbouring boxes of one layer
DUMMY_SIZE = 6.0   # the room an edge passing through a layer takes
ORDER_SWEEPS = 12  # barycenter sweeps (each is one pass down and one pass up)
PLACE_SWEEPS = 8   # coordinate sweeps
DUMMY_BUDGET = 4   # dummy nodes per real node at most (see step 2)
SPINE_PULL = 8.0   # how much harder an edge between two ops pulls than one from an input


@dataclass
class Layout:
    """Where everything goes. `centers[v]` is node v's centre; `routes[e]` the points edge e
    passes through, from the source's border to the target's border; `layers[v]` its layer."""

    width: float
    height: float
    centers: list[tuple[float, float]]
    routes: list[list[tuple[float, float]]]
    layers: list[int]
    direction: str = "right"


def layer_nodes(count: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Step 1: longest-path layers from the inputs, then nodes moved next to their readers.

    Raises ValueError when the edges make a cycle (a computation never does)."""
    predecessors: list[list[int]] = [[] for _ in range(count)]
    successors: list[list[int]] = [[] for _ in range(count)]
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
    order = _topological(count, predecessors, successors)
    layer = [0] * count
    for node in order:
        if predecessors[node]:
            layer[node] = 1 + max(layer[p] for p in predecessors[node])
    for node in reversed(order):
        if successors[node]:
            layer[node] = min(layer[s] for s in successors[node]) - 1
    return layer


def _topological(count: int, predecessors: list[list[int]],
                 successors: list[list[int]]) -> list[int]:
    """Kahn's algorithm, taking ready nodes in index order."""
    waiting = [len(set(p)) for p in predecessors]
    distinct_successors = [sorted(set(s)) for s in successors]
    ready = [node for node in range(count) if waiting[node] == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for successor in reversed(distinct_successors[node]):
            waiting[successor] -= 1
            if waiting[successor] == 0:
                ready.append(successor)
    if len(order) != count:
        raise ValueError("layout: the graph has a cycle")
    return order


def layout(sizes: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int]],
           direction: str = "right", margin: float = 12.0) -> Layout:
    """Place boxes of the given (width, height) and route the edges between them.

    `direction` is where the edges point: "right" (inputs on the left, the output on the
    right, as the lectures draw circuits) or "down".
    """
    count = len(sizes)
    layer = layer_nodes(count, edges)
    across_right = direction == "right"
    # Extent of each box along the layers (thickness) and along a layer (length).
    thickness = [w if across_right else h for w, h in sizes]
    length = [h if across_right else w for w, h in sizes]

    # Step 2: chains of dummy nodes, shortest edges first, up to a budget: a tensor read all
    # along a deep graph (a weight shared by every step of a loop) would otherwise need a
    # number of dummies that grows with the square of the depth. The edges over budget are
    # drawn straight from source to target and take no part in steps 3 and 4.
    node_layer = list(layer)
    chains: list[list[int]] = []
    spans = [layer[target] - layer[source] - 1 for source, target in edges]
    budget = DUMMY_BUDGET * max(count, 1)
    direct: set[int] = set()
    for index in sorted(range(len(edges)), key=lambda i: (spans[i], i)):
        if spans[index] > budget:
            direct.add(index)
        else:
            budget -= spans[index]
    for index, (source, target) in enumerate(edges):
        chain = [source]
        if index in direct:
            chains.append([source, target])
            continue
        for step in range(layer[source] + 1, layer[target]):
            node_layer.append(step)
            length.append(DUMMY_SIZE)
            thickness.append(0.0)
            chain.append(len(node_layer) - 1)
        chain.append(target)
        chains.append(chain)
    total = len(node_layer)
    up: list[list[int]] = [[] for _ in range(total)]
    down: list[list[int]] = [[] for _ in range(total)]
    # The weight of each link in the coordinate step: edges between ops (the spine of the
    # computation) pull harder than edges from inputs, so the spine stays straight and the
    # weights and biases gather around the ops that read them.
    weight: dict[tuple[int, int], float] = {}
    has_input = {target for _, target in edges}
    for index, chain in enumerate(chains):
        if index in direct:
            continue
        pull = SPINE_PULL if chain[0] in has_input else 1.0
        for a, b in pairwise(chain):
            down[a].append(b)
            up[b].append(a)
            weight[(a, b)] = weight[(b, a)] = pull

    # Step 3: order within layers.
    depth = max(node_layer, default=0) + 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    for node in _first_seen_order(total, count, up, down, weight):
        rows[node_layer[node]].append(node)
    rows = _order(rows, up, down)

    # Step 4: coordinates.
    layer_thickness = [max((thickness[v] for v in row), default=0.0) for row in rows]
    layer_center, position = [], margin
    for size in layer_thickness:
        layer_center.append(position + size / 2)
        position += size + LAYER_GAP
    along = _place(rows, up, down, length, weight)
    low = min((along[v] - length[v] / 2 for v in range(total)), default=0.0)
    high = max((along[v] + length[v] / 2 for v in range(total)), default=0.0)
    along = [a - low + margin for a in along]
    extent_layers = position - LAYER_GAP + margin
    extent_along = high - low + 2 * margin

    def point(layer_coordinate: float, along_coordinate: float) -> tuple[float, float]:
        if across_right:
            return (layer_coordinate, along_coordinate)
        return (along_coordinate, layer_coordinate)

    centers = [point(layer_center[node_layer[v]], along[v]) for v in range(count)]
    routes = _routes(chains, node_layer, layer_center, along, thickness, point)
    width, height = point(extent_layers, extent_along)
    return Layout(width, height, centers, routes, layer, direction)


def _first_seen_order(total: int, count: int, up: list[list[int]], down: list[list[int]],
                      weight: dict[tuple[int, int], float]) -> list[int]:
    """Nodes in depth-first order from the last node backwards, a good first guess for
    the orders in layers: the inputs of a node come before it, in the order it reads them,
    except that an op's inputs coming from other ops go between its plain inputs (x between
    W and b for x W^T + b), so that the spine of the computation can run straight."""
    seen = [False] * total
    order: list[int] = []
    for start in reversed(range(count)):  # from the output (the last node) back
        stack = [start]
        while stack:
            node = stack.pop()
            if seen[node]:
                continue
            seen[node] = True
            order.append(node)
            plain = [n for n in up[node] if weight[(node, n)] != SPINE_PULL]
            spine = [n for n in up[node] if weight[(node, n)] == SPINE_PULL]
            half = len(plain) // 2
            ordered = plain[:half] + spine + plain[half:] + down[node]
            stack.extend(reversed([n for n in ordered if not seen[n]]))
    return order


def _order(rows: list[list[int]], up: list[list[int]],
           down: list[list[int]]) -> list[list[int]]:
    """Barycenter sweeps; the order with the fewest crossings wins (the first, on ties)."""
    best = [list(row) for row in rows]
    best_crossings = _crossings(best, down)
    current = [list(row) for row in rows]
    for _ in range(ORDER_SWEEPS):
        if best_crossings == 0:
            break
        for index in range(1, len(current)):
            current[index] = _by_barycenter(current[index], current[index - 1], up)
        for index in range(len(current) - 2, -1, -1):
            current[index] = _by_barycenter(current[index], current[index + 1], down)
        crossings = _crossings(current, down)
        if crossings < best_crossings:
            best, best_crossings = [list(row) for row in current], crossings
    return best


def _by_barycenter(row: list[int], fixed: list[int], neighbours: list[list[int]]) -> list[int]:
    place = {node: index for index, node in enumerate(fixed)}

    def key(item: tuple[int, int]) -> tuple[float, int]:
        index, node = item
        linked = [place[n] for n in neighbours[node] if n in place]
        return (sum(linked) / len(linked) if linked else float(index), index)

    return [node for _, node in sorted(enumerate(row), key=key)]


def _crossings(rows: list[list[int]], down: list[list[int]]) -> int:
    """Edge crossings between adjacent layers: inversions of the targets' positions when the
    edges are sorted by their sources' positions (counted with a Fenwick tree)."""
    total = 0
    for upper, lower in pairwise(rows):
        place = {node: index for index, node in enumerate(lower)}
        targets: list[int] = []
        for source in upper:
            targets.extend(sorted(place[n] for n in down[source]))
        tree = [0] * (len(lower) + 1)
        for seen, target in enumerate(targets):
            greater = seen - _prefix(tree, target + 1)
            total += greater
            index = target + 1
            while index < len(tree):
                tree[index] += 1
                index += index & -index
    return total


def _prefix(tree: list[int], index: int) -> int:
    count = 0
    while index > 0:
        count += tree[index]
        index -= index & -index
    return count


def _place(rows: list[list[int]], up: list[list[int]], down: list[list[int]],
           length: list[float], weight: dict[tuple[int, int], float]) -> list[float]:
    """Coordinates along the layers: packed first, then sweeps toward the neighbours."""
    along = [0.0] * len(length)
    for row in rows:
        _settle(row, [0.0] * len(row), length, along)
    for _ in range(PLACE_SWEEPS):
        for index in range(1, len(rows)):
            _toward(rows[index], up, length, along, weight)
        for index in range(len(rows) - 2, -1, -1):
            _toward(rows[index], down, length, along, weight)
    both = [u + d for u, d in zip(up, down, strict=True)]
    for row in rows:  # a last pass with both sides balances nodes between two layers
        _toward(row, both, length, along, weight)
    return along


def _toward(row: list[int], neighbours: list[list[int]], length: list[float],
            along: list[float], weight: dict[tuple[int, int], float]) -> None:
    """Move the nodes of `row` toward the weighted mean of their `neighbours`."""
    wishes = []
    for node in row:
        pulls = [weight[(node, n)] for n in neighbours[node]]
        total = sum(pulls)
        wishes.append(sum(p * along[n] for p, n in zip(pulls, neighbours[node], strict=True))
                      / total if total else along[node])
    _settle(row, wishes, length, along)


def _settle(row: list[int], wishes: list[float], length: list[float],
            along: list[float]) -> None:
    """The positions closest to `wishes` (least squares) that keep `row`'s order with gaps.

    With offsets o_i (the sum of the minimum gaps before node i), positions y_i = z_i + o_i
    keep the gaps exactly when z is non-decreasing; the best such z is the isotonic
    regression of wishes_i - o_i, found by pooling adjacent violators."""
    offsets, offset = [], 0.0
    for index, node in enumerate(row):
        if index:
            offset += (length[row[index - 1]] + length[node]) / 2 + NODE_GAP
        offsets.append(offset)
    blocks: list[list[float]] = []  # [sum of targets, count]
    for wish, offset in zip(wishes, offsets, strict=True):
        blocks.append([wish - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    index = 0
    for total, count in blocks:
        for _ in range(int(count)):
            along[row[index]] = total / count + offsets[index]
            index += 1


def _routes(chains: list[list[int]], node_layer: list[int], layer_center: list[float],
            along: list[float], thickness: list[float],
            to_point: Callable[[float, float], tuple[float, float]]
            ) -> list[list[tuple[float, float]]]:
    """Each edge from the far side of its source to the near side of its target, through its
    dummy points; several edges at one side are spread along it, in the order of the nodes at
    their other ends, so that a value used twice by one op shows two arrows."""
    leaving: dict[int, list[int]] = {}
    arriving: dict[int, list[int]] = {}
    for index, chain in enumerate(chains):
        leaving.setdefault(chain[0], []).append(index)
        arriving.setdefault(chain[-1], []).append(index)
    spread: dict[tuple[int, str], float] = {}
    for indices in leaving.values():
        ordered = sorted(indices, key=lambda i: (along[chains[i][1]], i))
        for rank, index in enumerate(ordered):
            spread[(index, "out")] = (rank - (len(ordered) - 1) / 2) * 8.0
    for indices in arriving.values():
        ordered = sorted(indices, key=lambda i: (along[chains[i][-2]], i))
        for rank, index in enumerate(ordered):
            spread[(index, "in")] = (rank - (len(ordered) - 1) / 2) * 8.0
    routes = []
    for index, chain in enumerate(chains):
        source, target = chain[0], chain[-1]
        start = (layer_center[node_layer[source]] + thickness[source] / 2,
                 along[source] + spread[(index, "out")])
        end = (layer_center[node_layer[target]] - thickness[target] / 2,
               along[target] + spread[(index, "in")])
        middle = [(layer_center[node_layer[v]], along[v]) for v in chain[1:-1]]
        routes.append([to_point(*p) for p in [start, *middle, end]])
    return routes
