"""Tools that show the math: finite differences, gradient checks, Jacobians, anomaly detection."""

from layerwise.check.gradcheck import GradcheckError, gradcheck
from layerwise.check.numerical import jacobian, numerical_grad
from layerwise.settings import detect_anomaly

__all__ = ["GradcheckError", "detect_anomaly", "gradcheck", "jacobian", "numerical_grad"]
