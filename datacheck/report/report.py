"""Report: the verdict of one check run, with every input accounted for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacheck.report.violation import SEVERITY, Violation, _jsonable

#: Status of one input (file, table row, batch source) in a report.
INPUT_STATUSES = ("ok", "violating", "unreadable")


@dataclass
class Report:
    """What a check found.

    ``inputs`` maps each input (file path, or ``"<array>"`` for in-memory data)
    to ``"ok"``, ``"violating"`` or ``"unreadable"``, so the counts always add
    up to the number of inputs. ``summaries`` holds the merged per-feature
    statistics as plain dicts.

    >>> Report(schema="mnist").ok
    True
    """

    schema: str | None = None
    violations: list[Violation] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    kind: str = "check"

    @property
    def ok(self) -> bool:
        return not any(v.severity == "error" for v in self.violations)

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    def add(self, violation: Violation) -> None:
        self.violations.append(violation)

    def extend(self, violations: list[Violation]) -> None:
        self.violations.extend(violations)

    def mark_input(self, name: str, status: str) -> None:
        if status not in INPUT_STATUSES:
            raise ValueError(f"status must be one of {INPUT_STATUSES}, got {status!r}")
        # An input that was violating stays violating even if a later part was fine.
        previous = self.inputs.get(name)
        if previous in ("unreadable", "violating") and status == "ok":
            return
        if previous == "unreadable" and status == "violating":
            return
        self.inputs[name] = status

    def counts(self) -> dict[str, int]:
        out = {status: 0 for status in INPUT_STATUSES}
        for status in self.inputs.values():
            out[status] += 1
        out["total"] = len(self.inputs)
        return out

    def codes(self) -> list[str]:
        """Distinct violation codes, in order of first appearance."""
        return list(dict.fromkeys(v.code for v in self.violations))

    def sorted_violations(self) -> list[Violation]:
        return sorted(self.violations,
                      key=lambda v: (SEVERITY.get(v.severity, 9), v.feature, v.code))

    def merge(self, other: Report) -> Report:
        """Combine two reports (e.g. from two workers) into a new one."""
        merged = Report(schema=self.schema or other.schema, kind=self.kind)
        merged.violations = self.violations + other.violations
        merged.inputs = dict(self.inputs)
        for name, status in other.inputs.items():
            merged.mark_input(name, status)
        merged.summaries = {**self.summaries, **other.summaries}
        merged.stats = {**self.stats, **other.stats}
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "kind": self.kind,
            "schema": self.schema,
            "ok": self.ok,
            "counts": self.counts(),
            "violations": [v.to_dict() for v in self.violations],
            "inputs": dict(self.inputs),
            "summaries": _jsonable(self.summaries),
            "stats": _jsonable(self.stats),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(schema=data.get("schema"), kind=data.get("kind", "check"))
        report.violations = [Violation.from_dict(v) for v in data.get("violations", [])]
        report.inputs = dict(data.get("inputs", {}))
        report.summaries = dict(data.get("summaries", {}))
        report.stats = dict(data.get("stats", {}))
        return report

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    def to_text(self, limit: int = 50) -> str:
        """Plain-text rendering: one line per violation, verdict last."""
        lines = [f"[{v.severity}] {v.message}" for v in self.sorted_violations()[:limit]]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more violations")
        lines.append(self.verdict())
        return "\n".join(lines)

    def verdict(self) -> str:
        counts = self.counts()
        inputs = ""
        if counts["total"]:
            inputs = (f" Inputs: {counts['total']} ({counts['ok']} ok, {counts['violating']} "
                      f"violating, {counts['unreadable']} unreadable).")
        if self.ok:
            warn = len(self.violations)
            tail = f" ({warn} warnings)" if warn else ""
            return f"OK: all checks hold{tail}.{inputs}"
        return f"FAILED: {len(self.errors)} violations ({', '.join(self.codes())}).{inputs}"

    def __str__(self) -> str:
        return self.to_text()
