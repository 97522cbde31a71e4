"""Models in and out of ONNX, the exchange format every runtime reads.

The onnx package is imported only when a function here runs (`pip install 'layerwise[onnx]'`).

Export (`export`): trace.py records a forward pass op by op, export_ops.py turns each op into
ONNX nodes through builder.py, export.py finds the batch axis and writes the checked file.
Import (`load`): reader.py parses and checks a file without running anything from it,
math_ops.py, shape_ops.py and conv_ops.py translate each operator into layerwise ops (on the
values of nodes.py), importer.py runs the graph as a differentiable Module.
"""

from layerwise.onnx.common import OPSET, OnnxError
from layerwise.onnx.export import export
from layerwise.onnx.importer import OnnxModule, load

__all__ = ["OPSET", "OnnxError", "OnnxModule", "export", "load"]
