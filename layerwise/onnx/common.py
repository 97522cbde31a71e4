"""What export and import share: the opset layerwise writes and reads, and the lazy import of
the onnx package, which the core never needs."""

from __future__ import annotations

import importlib
from types import ModuleType

# The ONNX opset layerwise writes; files of opsets 13 and newer are read.
OPSET = 18
OLDEST_OPSET = 13
INSTALL_HINT = "pip install 'layerwise[onnx]' (onnx and onnxruntime)"


class OnnxError(ValueError):
    """A model that cannot go to ONNX, or an ONNX file layerwise cannot read; the message
    names the layer, operator or file."""


def require_onnx() -> ModuleType:
    """The onnx package, or an ImportError that says how to install it."""
    try:
        return importlib.import_module("onnx")
    except ImportError as error:
        raise ImportError(f"layerwise.onnx needs the onnx package: {INSTALL_HINT}") from error
