"""Module: the base class of layers and models. It owns Parameters (and sub-modules) and
knows nothing about gradients: those flow through the ops its forward applies."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from layerwise import devices, dtypes
from layerwise.nn.parameter import Parameter
from layerwise.nn.state_hints import names_hint, shape_hint
from layerwise.nn.summary import summarize
from layerwise.tensor import Tensor


class StateDictError(ValueError):
    """A state that does not fit the module: missing, unexpected or wrong-shaped keys."""


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """What register_forward_hook and register_forward_pre_hook return: `remove()` takes the
    hook off again."""

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable[..., Any]]) -> None:
        self.hooks = hooks
        self.id = next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


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
    _buffers: dict[str, Any]
    _non_persistent: set[str]
    _modules: dict[str, Module]
    _forward_hooks: dict[int, Callable[..., Any]]
    _forward_pre_hooks: dict[int, Callable[..., Any]]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "training", True)

    # --- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if isinstance(value, Parameter | Module) and registries[0] is None:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning "
                f"parameters or sub-modules (assigning {name!r})")
        if registries[0] is not None:
            if name in self._buffers and isinstance(value, np.ndarray | Tensor | None):
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

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Keep an array or Tensor that is state but not a parameter (running statistics) in
        state_dict (unless persistent=False); None reserves the name."""
        if not isinstance(value, np.ndarray | Tensor | None):
            raise TypeError(f"{type(self).__name__}.register_buffer: {name!r} must be an "
                            f"ndarray, a Tensor or None, got {type(value).__name__}")
        object.__setattr__(self, name, value)
        self._buffers[name] = value
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register `parameter` under `name` (as assigning it does); None reserves the name."""
        if parameter is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
            return
        setattr(self, name, parameter)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` under `name` (as assigning it does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module, got "
                            f"{type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path ("encoder.0")."""
        module: Module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no sub-module {part!r} (in "
                                     f"{target!r})")
            module = child
        return module

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

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        for module_name, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self) -> Iterator[Any]:
        for _, buffer in self.named_buffers():
            yield buffer

    def _persistent_buffers(self) -> Iterator[tuple[str, Any]]:
        for module_name, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every sub-module (children first, as in PyTorch) and on this one."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

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
            if set_to_none or parameter._grad is None:
                parameter._grad = None
            else:
                parameter.grad = np.zeros_like(parameter.data)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for parameter in self.parameters():
            parameter.requires_grad = requires_grad
        return self

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Module:
        """Convert every floating parameter and buffer to a dtype, in place (model.double());
        devices other than the CPU are refused, and model.to("cpu") changes nothing."""
        target = None
        for argument in args:
            if isinstance(argument, Tensor):
                target = argument.dtype
            elif (isinstance(argument, str) and argument not in dtypes.NAMES) or isinstance(
                    argument, devices.Device):
                device = argument
            else:
                target = dtypes.as_dtype(argument, "to")
        devices.check_device(device, "to")
        if dtype is not None:
            target = dtypes.as_dtype(dtype, "to")
        if target is None:
            return self
        if target.kind not in "fc":
            raise TypeError(f"{type(self).__name__}.to: only floating-point dtypes make sense "
                            f"for parameters, got {target}")
        for module in self.modules():
            for parameter in module._parameters.values():
                if parameter is not None and parameter.data.dtype.kind in "fc":
                    parameter.data = parameter.data.astype(target)
                    if parameter.grad is not None:
                        parameter.grad = parameter.grad.data.astype(target)
            for name, buffer in module._buffers.items():
                data = buffer.data if isinstance(buffer, Tensor) else buffer
                if data is not None and data.dtype.kind in "fc":
                    converted = data.astype(target)
                    module._buffers[name] = (Tensor(converted) if isinstance(buffer, Tensor)
                                             else converted)
                    object.__setattr__(module, name, module._buffers[name])
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    def cpu(self) -> Module:
        return self

    # --- hooks ---------------------------------------------------------------------------------
    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call hook(module, inputs, output) after each forward; a value it returns replaces
        the output. The handle's remove() takes it off."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call hook(module, inputs) before each forward; a value it returns (a tuple, or one
        input) replaces the inputs. The handle's remove() takes it off."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # --- running ------------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*inputs, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            replaced = hook(self, inputs)
            if replaced is not None:
                inputs = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, inputs, output)
            if replaced is not None:
                output = replaced
        return output

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Name -> a copy of every parameter's and persistent buffer's array: module by
        module, each one's parameters and then its buffers, in registration order (PyTorch's
        order)."""
        state: dict[str, np.ndarray] = {}
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, parameter in module._parameters.items():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    state[prefix + name] = parameter.data.copy()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[prefix + name] = np.array(buffer)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from `state` into the parameters and buffers of the same names.

        Shapes must match exactly; values (bool, integer or floating) are cast to each
        parameter's dtype. With strict=True (the default) a missing or unexpected key is an
        error that names it; nothing is copied unless everything matches.
        """
        if isinstance(state, str | os.PathLike):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a mapping from names to "
                f"arrays, got the path {str(state)!r}; read it first: "
                f"model.load_state_dict(layerwise.load(path))")
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a mapping from names to "
                f"arrays (model.state_dict() or layerwise.load(path)), got "
                f"{type(state).__name__}")
        own: dict[str, Any] = dict(self.named_parameters())
        own.update(self._persistent_buffers())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
            raise StateDictError(f"load_state_dict for {type(self).__name__}: "
                                 + "; ".join(problems)
                                 + names_hint(self, list(own), missing, unexpected))
        updates = []
        for name, target in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name].data if isinstance(state[name], Tensor)
                               else state[name])
            array = target.data if isinstance(target, Tensor) else target
            if value.dtype.kind not in "biuf":
                raise StateDictError(
                    f"load_state_dict for {type(self).__name__}: {name!r} has dtype "
                    f"{value.dtype} in the state; expected numbers for the {array.dtype} "
                    f"array of shape {array.shape} in the model")
            if value.shape != array.shape:
                raise StateDictError(
                    f"load_state_dict for {type(self).__name__}: {name!r} has shape "
                    f"{value.shape} in the state but {array.shape} in the model"
                    + shape_hint(self, name, value.shape, array.shape))
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
