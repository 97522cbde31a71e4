"""Models in and out of ONNX, the exchange format every runtime reads.

The onnx package is imported only when a function here runs (`pip install 'layerwise[onnx]'`).
"""

from layerwise.onnx.common import OPSET, OnnxError
from layerwise.onnx.export import export
from layerwise.onnx.importer import OnnxModule, load

__all__ = ["OPSET", "OnnxError", "OnnxModule", "export", "load"]
