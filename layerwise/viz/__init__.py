"""Pictures of what layerwise computes.

`graph(output)` draws the computational graph that produced a tensor, with each node's value
and gradient, as a self-contained SVG laid out by layerwise itself (no graphviz, no network).
"""

from layerwise.viz.graph import Graph, GraphEdge, GraphNode, graph

__all__ = ["Graph", "GraphEdge", "GraphNode", "graph"]
