"""``Optimizer``: parameter groups, per-parameter state, ``step``, and state dicts.

Subclasses declare their numeric hyperparameters' ranges in ``_number_ranges`` (the
base class checks the defaults and every group against them) and implement
``_update(param, grad, group, state)``, which updates the parameter in place under
``no_grad``: with a fused native step, or by computing the new value and writing it
with ``Tensor._assign`` (same tensor object, version counter bumped).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Union

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, DTypeError, ShapeError

__all__ = [
    "NumberRanges",
    "Optimizer",
    "ParamsT",
    "check_betas",
    "check_number",
    "update_direction",
]

# A hyperparameter's name -> (the name errors use, lowest value allowed, first value
# refused above it, or None): see ``Optimizer._number_ranges``.
NumberRanges = dict[str, tuple[str, float, Union[float, None]]]

# What an optimiser takes: tensors, or dicts with a "params" entry (parameter groups).
ParamsT = Union[Iterable[tg.Tensor], Iterable[dict[str, Any]]]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def check_number(
    value: Any, name: str, low: float = 0.0, below: float | None = None
) -> None:
    """Raises unless ``low <= value`` (and ``value < below`` when given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DTypeError(f"{name} must be a number, got {type(value).__name__}")
    if math.isnan(value) or value < low or (below is not None and value >= below):
        interval = f"[{low}, {below})" if below is not None else f">= {low}"
        raise ArgumentError(f"Invalid {name}: {value} (expected {interval})")


def check_betas(group: dict[str, Any]) -> None:
    """Checks a group's ``betas`` (a pair in [0, 1)) and stores it as a tuple."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise DTypeError(f"betas must be a pair of numbers, got {betas!r}")
    group["betas"] = tuple(betas)
    check_number(betas[0], "beta parameter at index 0", 0.0, 1.0)
    check_number(betas[1], "beta parameter at index 1", 0.0, 1.0)


def update_direction(
    param: tg.Tensor, grad: tg.Tensor, group: dict[str, Any]
) -> tg.Tensor:
    """The gradient an update follows: negated with ``maximize``, plus the L2 penalty
    ``weight_decay · param`` (PyTorch's order)."""
    if group.get("maximize"):
        grad = -grad
    if group.get("weight_decay"):
        grad = grad + group["weight_decay"] * param
    return grad


class Optimizer:
    """Base class of the optimisers.

    Args:
        params: An iterable of tensors, or of dicts (parameter groups) each holding a
            ``"params"`` list and any hyperparameters that differ from the defaults.
        defaults: The hyperparameters of groups that do not set their own; checked
            like every group (``_check_group``).
    """

    # The numeric hyperparameters: name -> (the name errors use, lowest value allowed,
    # first value refused above it, or None); and whether the groups hold Adam's
    # ``betas`` pair, each in [0, 1). Subclasses with other rules extend
    # ``_check_group``.
    _number_ranges: ClassVar[NumberRanges] = {}
    _has_betas: ClassVar[bool] = False

    def __init__(self, params: ParamsT, defaults: Mapping[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.state: defaultdict[tg.Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, tg.Tensor):
            raise DTypeError(
                "params argument given to the optimizer should be an iterable of "
                "Tensors or dicts, but got a Tensor"
            )
        groups: list[Any] = list(params)
        if not groups:
            raise ArgumentError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyperparameters.

        Raises:
            DTypeError: For something that is not a tensor among the parameters.
            ArgumentError: For a non-leaf tensor, a parameter already in another
                group, a missing required hyperparameter or an invalid one.
        """
        if not isinstance(param_group, dict):
            raise DTypeError(
                f"param group must be a dict, got {type(param_group).__name__}"
            )
        params = param_group.get("params")
        if isinstance(params, tg.Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise DTypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs; "
                "use a list instead"
            )
        elif params is None:
            raise ArgumentError("param group has no 'params' entry")
        params = list(params)
        for position, param in enumerate(params):
            if not isinstance(param, tg.Tensor):
                raise DTypeError(
                    f"optimizer can only optimize Tensors, but parameter {position} "
                    f"of the group is a {type(param).__name__}"
                )
            if not param.is_leaf:
                raise ArgumentError(
                    f"can't optimize a non-leaf Tensor (parameter {position} of the "
                    f"group has grad_fn={param.grad_fn}); use .detach() or "
                    f"nn.Parameter(...) to make a leaf"
                )
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ArgumentError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {
            id(p) for p in params
        }:
            raise ArgumentError(
                "some parameters appear more than once (in a group or across groups)"
            )
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validates a group's hyperparameters (subclasses extend it)."""
        for name, (label, low, below) in self._number_ranges.items():
            check_number(group[name], label, low, below)
        if self._has_betas:
            check_betas(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets every parameter's ``.grad``: to None (default) or to zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    if set_to_none:
                        param.grad = None
                        continue
                    # In place, as PyTorch: views of .grad (DDP buckets) stay valid.
                    if param.grad.grad_fn is not None:
                        param.grad = param.grad.detach()
                    param.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Updates every parameter that has a gradient (others are skipped).

        Args:
            closure: Optional function that re-evaluates the model and returns the
                loss (called with grad mode on).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with tg.enable_grad():
                loss = closure()
        with tg.no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    self._update(param, param.grad, group, self.state[param])
        return loss

    def _update(
        self,
        param: tg.Tensor,
        grad: tg.Tensor,
        group: dict[str, Any],
        state: dict[str, Any],
    ) -> None:
        """Updates the parameter and its ``state`` in place (runs under ``no_grad``):
        with a fused native step (``SGD``, ``Adam`` and ``AdamW``) or by
        computing the new value and writing it with ``Tensor._assign``. Either way the
        parameter stays the same tensor object and its version counter is bumped."""
        raise NotImplementedError

    # ---- state dicts

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state: ``{"state": ..., "param_groups": ...}``, as PyTorch.

        Parameters are referred to by their position over all groups, so the state
        dict can be loaded into an optimiser built on another model of the same
        architecture. ``tapegrad.save`` writes it to a safetensors file.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for param in group["params"]:
                index.setdefault(id(param), len(index))
                packed["params"].append(index[id(param)])
            groups.append(packed)
        state = {
            index[id(param)]: {
                k: v.detach() if isinstance(v, tg.Tensor) else v for k, v in s.items()
            }
            for param, s in self.state.items()
            if id(param) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restores hyperparameters and state saved by ``state_dict()``.

        Everything is checked before anything changes: group count, group sizes, and
        the shapes of per-parameter tensors. Tensors are converted to each
        parameter's dtype.

        Raises:
            ArgumentError: If the groups do not match this optimiser's.
            ShapeError: If a state tensor's shape differs from its parameter's.
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(
            state_dict
        ):
            raise ArgumentError(
                "optimizer state dict must be a mapping with 'state' and "
                "'param_groups' entries"
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ArgumentError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the "
                f"optimizer has {len(self.param_groups)}"
            )
        params: dict[int, tg.Tensor] = {}
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = list(saved["params"])
            if len(ids) != len(group["params"]):
                raise ArgumentError(
                    f"parameter group {k} of the loaded state dict has {len(ids)} "
                    f"parameters, the optimizer's has {len(group['params'])}"
                )
            params.update(zip((int(i) for i in ids), group["params"]))
        new_state: defaultdict[tg.Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            if int(key) not in params:
                raise ArgumentError(f"loaded state refers to unknown parameter {key!r}")
            param = params[int(key)]
            new_state[param] = {
                name: self._load_state_entry(value, param, name, key)
                for name, value in entries.items()
            }
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            merged = dict(group)
            for name, value in saved.items():
                if name != "params":
                    # betas come back from JSON as lists
                    merged[name] = (
                        tuple(value) if isinstance(group.get(name), tuple) else value
                    )
            self._check_group(merged)
            new_groups.append(merged)
        for group, merged in zip(self.param_groups, new_groups):
            group.update(merged)  # in place: schedulers hold these dicts
        self.state = new_state

    def _load_state_entry(
        self, value: Any, param: tg.Tensor, name: str, key: Any
    ) -> Any:
        """A loaded state entry: tensors are checked against the parameter and
        converted to its dtype (subclasses with other state extend it)."""
        return _state_value(value, param, name, key)


def _state_value(value: Any, param: tg.Tensor, name: str, key: Any) -> Any:
    """A loaded state entry: tensors are checked against the parameter and converted."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        value = tg.tensor(value, dtype=param.dtype)
    if not isinstance(value, tg.Tensor):
        return value
    value = value.detach()
    if value.ndim and tuple(value.shape) != tuple(param.shape):
        raise ShapeError(
            f"state {name!r} of parameter {key} has shape {tuple(value.shape)}, but "
            f"the parameter has shape {tuple(param.shape)}"
        )
    return value if value.dtype == param.dtype else value.to(param.dtype)
