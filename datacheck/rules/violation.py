"""The Violation record the rules build, and the stable set of codes (public contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from datacheck.rules import registry as _registry
from datacheck.rules.registry import SeverityName

#: Stable violation codes, generated from the rule registry (public contract).
CODES: frozenset[str] = _registry.CODES

#: Severity order used when sorting findings for people (lower sorts first).
SEVERITY: dict[str, int] = dict(_registry.SEVERITY_ORDER)


@dataclass(frozen=True)
class Violation:
    """One broken expectation.

    ``message`` is one sentence a person can act on: what, where, observed,
    expected and the fix. ``where`` is a batch/element index, a file path or a
    table row, rendered as text. ``input`` names the input (file, table row
    source, ``"<array>"``) the finding belongs to; ``None`` marks a
    dataset-scope finding (class balance, drift, leakage) that no one input owns.
    """

    code: str
    feature: str
    message: str
    observed: Any = None
    expected: Any = None
    where: str = ""
    severity: SeverityName = "error"
    extra: dict[str, Any] = field(default_factory=dict)
    input: str | None = None
    fix: str = ""

    def __post_init__(self) -> None:
        rule = _registry.rule(self.code)
        if not self.fix:
            object.__setattr__(self, "fix", rule.fix)
        # Text from files (a 100 KB member or dataset name, a cell) must not make a 100 KB
        # line in a report, a log or a terminal: one line each, elided with its length named.
        from datacheck.excerpt import MAX_LINE, MAX_NAME, bounded

        for name, limit in (("message", MAX_LINE), ("feature", MAX_NAME),
                            ("where", MAX_LINE // 4)):
            value = getattr(self, name)
            if isinstance(value, str) and (len(value) > limit or not value.isprintable()):
                object.__setattr__(self, name, bounded(value, limit))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["observed"] = _jsonable(self.observed)
        data["expected"] = _jsonable(self.expected)
        data["extra"] = _jsonable(self.extra)
        data["scope"] = "dataset" if self.input is None else "input"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Violation:
        known = {k: data[k] for k in ("code", "feature", "message", "observed", "expected",
                                      "where", "severity", "extra", "input", "fix") if k in data}
        return cls(**known)


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples into plain JSON types."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and value != value:
            return "nan"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _jsonable(tolist())
    return str(value)
