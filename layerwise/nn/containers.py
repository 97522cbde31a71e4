"""ModuleList and ModuleDict: sub-modules held in a list or a dict, registered so that
parameters(), state_dict() and train()/eval() reach them (a plain Python list would hide
them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from layerwise.nn.module import Module


def _module(owner: str, value: Any) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner} holds Modules, got {type(value).__name__}")
    return value


class ModuleList(Module):
    """A list of modules, named "0", "1"... in state_dict. Indexable (a slice gives a
    ModuleList), iterable, with append, extend and insert. It has no forward: a model's
    forward loops over it."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(modules):
            setattr(self, str(position), module)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self._modules)), _module("ModuleList", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _module("ModuleList", module))
        self._renumber(modules)

    def _position(self, index: int) -> int:
        count = len(self._modules)
        if not -count <= index < count:
            raise IndexError(f"ModuleList index {index} is out of range for {count} modules")
        return index % count

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(self._position(index)), _module("ModuleList", module))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)


class ModuleDict(Module):
    """A dict of modules, named by their keys in state_dict, in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: "
                           f"{list(self._modules)})") from None

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {key!r}")
        setattr(self, key, _module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        self[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return list(self._modules)

    def values(self) -> Iterable[Module]:
        return list(self._modules.values())

    def items(self) -> Iterable[tuple[str, Module]]:
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            delattr(self, key)
