"""Hints that follow a load_state_dict error: what the names or the shape that do not match
most likely mean, for a state that comes from another program (PyTorch, a wrapped model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerwise.nn.module import Module

# The prefixes PyTorch's wrappers add to every name of the model they wrap.
WRAPPER_PREFIXES = {"module.": "DataParallel and DistributedDataParallel",
                    "_orig_mod.": "torch.compile"}


def names_hint(model: Module, own: list[str], missing: list[str], unexpected: list[str]) -> str:
    """The end of the message, starting "; ": a prefix that all the names of one side carry
    and the other's do not, or else the whole modules the state has nothing for and the
    modules it names that the model does not have; "" when there is nothing more to say than
    the lists of keys. `own` are the model's names (parameters and persistent buffers)."""
    if missing and unexpected:
        extra = _extra_prefix(unexpected, missing)
        if extra:
            return (f"; every name in the state has the prefix {extra!r} that the model's names "
                    f"do not{_made_by(extra)}: load {{name.removeprefix({extra!r}): value for "
                    f"name, value in state.items()}}")
        lacking = _extra_prefix(missing, unexpected)
        if lacking:
            return (f"; every name in the model has the prefix {lacking!r} that the state's "
                    f"names do not: load {{{lacking!r} + name: value for name, value in "
                    f"state.items()}}, or load the state into model.get_submodule("
                    f"{lacking.rstrip('.')!r})")
    modules = dict(model.named_modules())
    hints = []
    uncovered = _whole_modules(model, own, set(missing))
    if uncovered:
        hints.append("the state has nothing for " + ", ".join(
            f"{name!r} ({type(modules[name]).__name__})" for name in uncovered))
    strangers = _unknown_modules(set(modules), unexpected)
    if strangers:
        hints.append("the model has no module " + ", ".join(repr(name) for name in strangers))
    return "; " + ", and ".join(hints) if hints else ""


def shape_hint(model: Module, name: str, state_shape: tuple[int, ...],
               model_shape: tuple[int, ...]) -> str:
    """The end of the message, " (its transpose...)", when the state's matrix is the
    transpose of the model's; "" otherwise."""
    if len(state_shape) != 2 or state_shape != model_shape[::-1] or state_shape[0] == \
            state_shape[1]:
        return ""
    owner = type(model.get_submodule(name.rpartition(".")[0])).__name__
    if owner == "Linear" and name.endswith("weight"):
        return (" (its transpose: a Linear's weight is (out_features, in_features) in layerwise "
                "and PyTorch; a matrix saved as (in_features, out_features), as Keras and JAX "
                "store it, loads as its .T)")
    return " (its transpose)"


def _extra_prefix(longer: list[str], shorter: list[str]) -> str:
    """The shortest run of leading name parts ("module.", "model.encoder.") that every name in
    `longer` starts with and whose removal turns each of them into one of the names `shorter`
    (some of those may remain: a layer one side has and the other has not)."""
    parts = longer[0].split(".")
    for count in range(1, len(parts)):
        prefix = ".".join(parts[:count]) + "."
        if all(name.startswith(prefix) for name in longer) and {
                name[len(prefix):] for name in longer} <= set(shorter):
            return prefix
    return ""


def _made_by(prefix: str) -> str:
    makers = []
    rest = prefix
    while rest:
        wrapper = next((known for known in WRAPPER_PREFIXES if rest.startswith(known)), None)
        if wrapper is None:
            return ""
        makers.append(f"{wrapper!r} comes from {WRAPPER_PREFIXES[wrapper]}")
        rest = rest[len(wrapper):]
    return " (" + "; ".join(makers) + ")"


def _whole_modules(model: Module, own: list[str], missing: set[str]) -> list[str]:
    """The outermost sub-modules whose every parameter and buffer is missing."""
    found: list[str] = []
    for module_name, _ in model.named_modules():
        if not module_name or any(module_name.startswith(f"{done}.") for done in found):
            continue
        names = [name for name in own if name.startswith(f"{module_name}.")]
        if names and all(name in missing for name in names):
            found.append(module_name)
    return found


def _unknown_modules(module_names: set[str], unexpected: list[str]) -> list[str]:
    """For each unexpected name, the shortest leading path that is not a module of the model
    ("fc" for "fc.weight"), each once."""
    found: list[str] = []
    for name in unexpected:
        parts = name.split(".")[:-1]
        for count in range(1, len(parts) + 1):
            path = ".".join(parts[:count])
            if path not in module_names:
                if path not in found:
                    found.append(path)
                break
    return found
