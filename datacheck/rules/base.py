"""Rule building blocks shared by every backend.

A rule looks at a *view* of one batch (numpy arrays or TF tensors behind the
same attributes) and returns :class:`Check` objects. ``Check.ok`` is a cheap
predicate: a numpy bool when data is eager, a scalar bool tensor in graph.
``Check.diagnose()`` is only evaluated when ``ok`` is false (inside a
``tf.cond`` branch in graph mode) and names the concrete violations.

Operators used here (``&``, ``~``, ``==``, ``<``) work on numpy scalars and
TF tensors alike; that is what lets one rule run eagerly and in graph.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datacheck.rules.registry import SeverityName
from datacheck.rules.violation import Violation

#: Placeholder the backends replace with "batch B, element E".
WHERE = "{where}"
#: Placeholder the backends replace with " Affected: K of N elements (indices ...)." from
#: the finding's per-element mask (empty when the finding has none). It ends a message.
ELEMENTS = "{elements}"
#: That text, found again (the collector lists a finding repeated in many batches once).
ELEMENTS_RE = re.compile(r" Affected: \d+ of \d+ elements[^(]*\((?:index|indices) [^)]*\)\.$")
#: Element indices named in a message (the count is always exact).
SHOWN_INDICES = 10


@dataclass
class Finding:
    """A possible violation.

    ``template`` is the message with ``{name}`` placeholders filled from
    ``values`` (scalars, possibly tensors) and ``{where}`` filled by the
    backend. ``element_ok`` (optional) is a per-element predicate used to find
    the first offending element and, in drop mode, which elements to drop.
    """

    code: str
    fired: Any
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    observed: str = ""
    expected: Any = None
    element_ok: Any = None
    severity: SeverityName = "error"

    def violation(self, feature: str, message: str, observed: Any, where: str,
                  extra: dict[str, Any]) -> Violation:
        """The finding as a Violation, once a backend has filled in its message and place."""
        return Violation(self.code, feature, message, observed=observed, expected=self.expected,
                         where=where, severity=self.severity, extra=extra)


@dataclass
class Check:
    feature: str
    ok: Any
    diagnose: Callable[[], list[Finding]]
    element_ok: Callable[[], Any] | None = None
    static: bool = False


def true() -> np.bool_:
    return np.True_


def dim_eq(observed: Any, expected: int | None) -> Any:
    """Observed dim (int, None=unknown, or tensor) equals expected (None=wildcard)."""
    if expected is None or observed is None:
        return np.True_
    if isinstance(observed, (int, np.integer)):
        return np.bool_(int(observed) == expected)
    return observed == expected


def all_of(*preds: Any) -> Any:
    result: Any = np.True_
    for pred in preds:
        result = result & pred
    return result


def is_static_true(pred: Any) -> bool:
    return isinstance(pred, (bool, np.bool_)) and bool(pred)


def is_static_false(pred: Any) -> bool:
    return isinstance(pred, (bool, np.bool_)) and not bool(pred)


def fmt_shape(shape: tuple[Any, ...] | list[Any]) -> str:
    """Element shape as text; unknown or dynamic dims print as '?'."""
    parts = [str(int(d)) if isinstance(d, (int, np.integer)) else "?" for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def esc(text: str) -> str:
    """Escape braces in static text that goes into a template."""
    return text.replace("{", "{{").replace("}", "}}")


def static_template(message: str) -> str:
    """Escape a fully formatted message but keep its ``{where}`` placeholder."""
    return esc(message).replace("{{where}}", WHERE)


def elements_text(count: int, total: int, indices: list[int], scope: str = "") -> str:
    """The text ``{elements}`` becomes; the TF backend builds the same string in graph.

    >>> elements_text(2, 32, [37, 40])
    ' Affected: 2 of 32 elements (indices 37, 40).'
    """
    if count <= 0:
        return ""
    shown = ", ".join(str(i) for i in indices[:SHOWN_INDICES])
    more = ", ..." if count > SHOWN_INDICES else ""
    noun = "index" if count == 1 else "indices"
    return f" Affected: {count} of {total} elements{scope} ({noun} {shown}{more})."


def fmt_num(value: float) -> str:
    return f"{value:g}"
