"""Module: the base class of layers and models. It owns Parameters (and sub-modules) and
knows nothing about gradients: those flow through the ops its forward applies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from layerwise.nn.parameter import Parameter
from layerwise.nn.summary import summarize
from layerwise.tensor import Tensor


class StateDictError(ValueError):
    """A state that does not fit the module: missing, unexpected or wrong-shaped keys."""


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model.

    Assigning a Parameter or a Module to an attribute registers it, in assignment order:
    `parameters()` yields them in that order and `state_dict()` names them by their attribute
    path ("0.weight", "encoder.fc.bias"). Subclasses call `super().__init__()` first and define
    `forward`; calling the module runs forward.

    Example:
        >>> class TwoLayer(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = Linear(784, 128)
        ...         self.out = Linear(128, 10)
        ...     def forward(self, x):
        ...         return self.out(relu(self.hidden(x)))
    """

    training: bool
    _parameters: dict[str, Parameter]
    _buffers: dict[str, np.ndarray]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # --- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if isinstance(value, Parameter | Module) and registries[0] is None:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning "
                f"parameters or sub-modules (assigning {name!r})")
        if registries[0] is not None:
            if name in self._buffers and isinstance(value, np.ndarray):
                self._buffers[name] = value  # a buffer reassigned stays a buffer
                object.__setattr__(self, name, value)
                return
            for registry in (self._parameters, self._modules, self._buffers):
                registry.pop(name, None)
            if isinstance(value, Parameter):
                self._parameters[name] = value
            elif isinstance(value, Module):
                self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep an array that is state but not a parameter (running statistics) in state_dict."""
        object.__setattr__(self, name, value)
        self._buffers[name] = value

    # --- traversal -----------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, each with its dotted name."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, sub)
                        for child, sub in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name, in registration order; a parameter shared by
        two modules appears once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if parameter is None or id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules():
            for name, buffer in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), buffer

    # --- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all sub-modules."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout passes values through."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: None (the next backward assigns it), or zeros
        when set_to_none is False."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad = np.zeros_like(parameter.data)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    # --- running ------------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Name -> a copy of every parameter's and buffer's array: module by module, each
        one's parameters and then its buffers, in registration order (PyTorch's order)."""
        state: dict[str, np.ndarray] = {}
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, parameter in module._parameters.items():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    state[prefix + name] = parameter.data.copy()
            for name, buffer in module._buffers.items():
                state[prefix + name] = np.array(buffer)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from `state` into the parameters and buffers of the same names.

        Shapes must match exactly; values (bool, integer or floating) are cast to each
        parameter's dtype. With strict=True (the default) a missing or unexpected key is an
        error that names it; nothing is copied unless everything matches.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a mapping from names to "
                f"arrays (model.state_dict() or layerwise.load(path)), got "
                f"{type(state).__name__}")
        own: dict[str, Parameter | np.ndarray] = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
            raise StateDictError(f"load_state_dict for {type(self).__name__}: "
                                 + "; ".join(problems))
        updates = []
        for name, target in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name].data if isinstance(state[name], Tensor)
                               else state[name])
            array = target.data if isinstance(target, Parameter) else target
            if value.dtype.kind not in "biuf":
                raise StateDictError(
                    f"load_state_dict for {type(self).__name__}: {name!r} has dtype "
                    f"{value.dtype} in the state; expected numbers for the {array.dtype} "
                    f"array of shape {array.shape} in the model")
            if value.shape != array.shape:
                raise StateDictError(
                    f"load_state_dict for {type(self).__name__}: {name!r} has shape "
                    f"{value.shape} in the state but {array.shape} in the model")
            updates.append((array, value))
        for array, value in updates:
            np.copyto(array, value, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    # --- display -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The options shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        lines.append(")")
        return "\n".join(lines)

    def summary(self, input_shape: tuple[int, ...], dtype: Any = None) -> str:
        """Print and return a table of every layer, its output shape and parameter count.

        Runs one forward pass on zeros of `input_shape` (batch axis included) without
        recording a graph, in evaluation mode (the model's state does not change).
        """
        table = summarize(self, input_shape, dtype)
        print(table)
        return table
