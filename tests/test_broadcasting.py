"""Property tests: for any pair of broadcastable shapes, binary ops return gradients of each
input's own shape, equal to PyTorch's."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import layerwise as lw

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "maximum": (lw.maximum, torch.maximum),
}


@settings(max_examples=60, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_op_gradients_sum_back_to_each_input_shape(
        shapes: hnp.BroadcastableShapes, name: str, seed: int) -> None:
    ours_fn, torch_fn = BINARY[name]
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in shapes.input_shapes]
    ours = [lw.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    upstream = rng.standard_normal(shapes.result_shape)
    ours_fn(*ours).backward(upstream)
    torch_fn(*theirs).backward(torch.tensor(upstream))
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.grad is not None and mine.grad.shape == mine.shape
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-9, atol=1e-12)
