"""Every case of the op registry: gradchecked in float64, and equal to PyTorch in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import layerwise as lw
from layerwise import ops
from layerwise.check.cases import CASES, OpCase
from tests.op_specs import TORCH_TWINS


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_gradcheck_float64(case: OpCase) -> None:
    assert lw.gradcheck(case.call, case.sample())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_matches_pytorch_float64(case: OpCase) -> None:
    arrays = case.sample()
    ours = [lw.Tensor(a, requires_grad=a.dtype == np.float64) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype == np.float64) for a in arrays]
    out = case.call(*ours)
    expected = TORCH_TWINS[case.id](*theirs)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)

    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for position, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        if not mine.requires_grad:
            continue
        assert mine.grad is not None, f"no gradient for input {position}"
        assert mine.grad.shape == mine.shape
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"gradient of input {position}")


def _ops_defined_in_layerwise() -> set[type[ops.Op]]:
    found: set[type[ops.Op]] = set()
    pending = list(ops.Op.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("layerwise.ops") and not cls.__name__.startswith("_"):
            found.add(cls)
    return found


def test_every_op_is_registered_and_has_a_case() -> None:
    defined = _ops_defined_in_layerwise()
    assert defined - set(ops.ALL_OPS) == set(), "ops missing from layerwise.ops.ALL_OPS"
    covered = {case.op for case in CASES}
    missing = sorted(op.__name__ for op in ops.ALL_OPS if op not in covered)
    assert missing == [], f"ops without a case in layerwise/check/cases.py: {missing}"


def test_every_case_has_a_pytorch_twin() -> None:
    assert sorted({case.id for case in CASES} - set(TORCH_TWINS)) == []
    assert sorted(set(TORCH_TWINS) - {case.id for case in CASES}) == []
    assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"
