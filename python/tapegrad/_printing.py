"""``set_printoptions``: how ``repr(tensor)`` prints its elements.

The native ``Tensor.__repr__`` asks :func:`format_body` for the elements, which NumPy's
``array2string`` formats. Options never set keep NumPy's formatting (tapegrad's look until
now); options set here apply to tensors only, never to NumPy's own printing.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ._errors import ArgumentError

__all__ = ["get_printoptions", "set_printoptions"]

_PROFILES: dict[str, dict[str, Any]] = {
    # PyTorch's profiles; "default" goes back to tapegrad's own formatting.
    "default": {},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_options: dict[str, Any] = {}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Sets how tensors print, as ``torch.set_printoptions``.

    Args:
        precision: Digits after the decimal point.
        threshold: Elements above which the middle is summarised with ``...``.
        edgeitems: Elements shown at each end of a summarised dimension.
        linewidth: Characters per line before wrapping.
        profile: ``"short"``, ``"full"`` (never summarise) or ``"default"`` (tapegrad's
            formatting: NumPy's defaults); set first, then the other arguments.
        sci_mode: True for scientific notation, False for fixed point, None to let the
            values decide.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ArgumentError(
                f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                f"got {profile!r}"
            )
        _options.clear()
        _options.update(_PROFILES[profile])
    given = {
        "precision": precision,
        "threshold": threshold,
        "edgeitems": edgeitems,
        "linewidth": linewidth,
    }
    for name, value in given.items():
        if value is not None:
            if value < 0:
                raise ArgumentError(f"set_printoptions: {name} must be >= 0, got {value}")
            _options[name] = value
    # sci_mode=None means "let the values decide", so it is always recorded.
    if sci_mode is not None or profile is not None:
        _options["sci_mode"] = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The options set by :func:`set_printoptions` (only those that were set)."""
    return dict(_options)


def format_body(array: np.ndarray) -> str:
    """The elements of ``array`` as ``repr(tensor)`` shows them (without ``tensor(``)."""
    if not _options:
        return np.array2string(array, separator=", ")
    kwargs: dict[str, Any] = {"separator": ", "}
    if "precision" in _options:
        kwargs["precision"] = _options["precision"]
    if "threshold" in _options:
        threshold = _options["threshold"]
        kwargs["threshold"] = sys.maxsize if threshold == math.inf else int(threshold)
    if "edgeitems" in _options:
        kwargs["edgeitems"] = _options["edgeitems"]
    if "linewidth" in _options:
        kwargs["max_line_width"] = _options["linewidth"]
    sci_mode = _options.get("sci_mode")
    if sci_mode is False:
        kwargs["suppress_small"] = True
    elif sci_mode is True and array.dtype.kind == "f":
        digits = kwargs.get("precision", np.get_printoptions()["precision"])
        kwargs["formatter"] = {"float_kind": lambda v: f"{v:.{digits}e}"}
    return np.array2string(array, **kwargs)

