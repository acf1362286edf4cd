"""Report: the verdict of one check run, with every input accounted for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, cast, get_args

from datacheck.report.violation import SEVERITY, Violation, _jsonable
from datacheck.summary.records import SummaryRecord


#: Status of one input (file, table row, batch source) in a report. ``not_checked``: an
#: interrupted scan (Ctrl-C) never reached it; ``stats["interrupted"]`` says why.
class RunStats(TypedDict, total=False):
    """What a run measured besides its findings (``Report.stats``; JSON ``"stats"``).

    Which keys are present depends on the report's kind; mypy rejects a key
    that is not declared here, so every producer and reader agrees on names.
    """

    # every judged run
    batches: int
    elements: int | None
    suppressed_violations: list[dict[str, Any]]
    title: str
    notes: list[str]
    # file scans (check on paths)
    files: int
    workers: int
    scheduler: str | None
    skipped_files: int
    dataset_scope: str
    interrupted: str
    thumbnails: dict[str, Any]
    #: Per stored volume: orientation stored/shown, its mask, its foreground histogram.
    previews: dict[str, Any]
    #: Foreground intensities of every volume scanned (a ChannelHistogram as a dict).
    foreground_histogram: dict[str, Any]
    # validate(): passes over a tf.data pipeline
    passes: list[dict[str, Any]]
    complete_passes: int
    partial_passes: int
    partial: bool
    kept: int | None
    dropped: int
    dropped_indices: list[int]
    drop_log: str | None
    # doctor
    smoke: dict[str, Any]
    model: str
    data: str
    losses: list[Any]
    sampled_batches: int | None
    exhausted: bool
    # ValidationCallback (kind "fit")
    epoch: int
    steps: int
    violating_batches: int
    rate: float
    #: "trained" (the batches fit trained on, judged in its step) or "copy" (sampled).
    judged_batches: str
    # diff, dedup, labels
    a: dict[str, Any]
    b: dict[str, Any]
    dedup: dict[str, Any]
    labels: dict[str, Any]


#: What became of one input, worst last.
InputStatus = Literal["ok", "violating", "unreadable", "not_checked"]
INPUT_STATUSES: tuple[InputStatus, ...] = get_args(InputStatus)
#: Name under which dataset-scope findings (class balance, drift, leakage) are shown.
DATASET_SCOPE = "(dataset scope)"


@dataclass
class Report:
    """What a check found.

    ``inputs`` maps each input (file path, or ``"<array>"`` for in-memory data)
    to ``"ok"``, ``"violating"`` or ``"unreadable"``, so the counts always add
    up to the number of inputs; :meth:`input_details` adds each input's codes
    and first reason. ``skipped`` maps each entry a folder scan did not check
    to why (hidden, unknown suffix, symlink), so checked + skipped add up to
    the entries on disk. ``summaries`` holds the merged per-feature
    statistics as plain dicts.

    >>> Report(schema="mnist").ok
    True
    """

    schema: str | None = None
    violations: list[Violation] = field(default_factory=list)
    inputs: dict[str, InputStatus] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, SummaryRecord] = field(default_factory=dict)
    stats: RunStats = field(default_factory=lambda: RunStats())
    kind: str = "check"

    @property
    def ok(self) -> bool:
        """No error, and every input was checked (an interrupted scan is never OK)."""
        return not any(v.severity == "error" for v in self.violations) and \
            "not_checked" not in self.inputs.values()

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.severity != "error"]

    def add(self, violation: Violation) -> None:
        self.violations.append(violation)

    def extend(self, violations: list[Violation]) -> None:
        self.violations.extend(violations)

    def mark_input(self, name: str, status: InputStatus) -> None:
        if status not in INPUT_STATUSES:
            raise ValueError(f"status must be one of {INPUT_STATUSES}, got {status!r}")
        # An input that was violating stays violating even if a later part was fine.
        previous = self.inputs.get(name)
        if previous in ("unreadable", "violating") and status == "ok":
            return
        if previous == "unreadable" and status == "violating":
            return
        if previous is not None and status == "not_checked":
            return
        self.inputs[name] = status

    def skip(self, name: str, reason: str) -> None:
        """Record an entry that was deliberately not checked, and why."""
        self.skipped[name] = reason

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {status: 0 for status in INPUT_STATUSES}
        for status in self.inputs.values():
            out[status] += 1
        if not out["not_checked"]:  # only interrupted scans have the key
            del out["not_checked"]
        out["total"] = len(self.inputs)
        out["skipped"] = len(self.skipped)
        return out

    def input_details(self) -> dict[str, dict[str, Any]]:
        """Each input's status, its codes and its first reason (errors before warnings).

        A violation belongs to ``v.input`` and to any names in ``v.extra["inputs"]``
        (one table-level finding about many files). A non-ok input that owns no
        finding (e.g. the only input of a run failed by a dataset-scope rule) gets
        the dataset-scope reasons, so no failing input is ever without one.

        >>> details = Report(inputs={"a.npz": "ok"}).input_details()["a.npz"]
        >>> details["status"], details["codes"] == []
        ('ok', True)
        """
        owned: dict[str | None, list[Violation]] = {}
        for v in self.sorted_violations():
            for owner in owners(v):
                owned.setdefault(owner, []).append(v)
        scope = owned.get(None, [])
        out: dict[str, dict[str, Any]] = {}
        for name, status in self.inputs.items():
            found = owned.get(name, [])
            if status == "not_checked":
                out[name] = {"status": status, "codes": [],
                             "message": f"{name}: not checked: "
                                        f"{self.stats.get('interrupted', 'the scan stopped')}"}
                continue
            if not found and status != "ok":
                found = [v for v in scope if v.severity == "error"]
            out[name] = {"status": status, "codes": list(dict.fromkeys(v.code for v in found)),
                         "message": found[0].message if found else None}
        return out

    def dataset_findings(self) -> list[Violation]:
        """Findings about the whole dataset (or a split), owned by no one input."""
        return [v for v in self.violations if v.input is None]

    def not_listed(self) -> int:
        """Findings counted but not listed (repeats beyond the per-input cap)."""
        records = self.stats.get("suppressed_violations") or []
        return sum(int(r.get("not_listed", 0)) for r in records if isinstance(r, dict))

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
        merged.skipped = {**self.skipped, **other.skipped}
        for name, status in other.inputs.items():
            merged.mark_input(name, status)
        merged.summaries = {**self.summaries, **other.summaries}
        merged.stats = cast(RunStats, {**self.stats, **other.stats})
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "kind": self.kind,
            "schema": self.schema,
            "ok": self.ok,
            "counts": self.counts(),
            "violations": [v.to_dict() for v in self.violations],
            "inputs": self.input_details(),
            "skipped": dict(self.skipped),
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
        # Reports written before per-input details map a name straight to its status.
        report.inputs = {name: entry["status"] if isinstance(entry, dict) else entry
                         for name, entry in data.get("inputs", {}).items()}
        report.skipped = dict(data.get("skipped", {}))
        report.summaries = dict(data.get("summaries", {}))
        report.stats = cast(RunStats, dict(data.get("stats", {})))
        return report

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    def to_text(self, limit: int = 50) -> str:
        """Plain-text rendering: findings, then the inputs that are not ok, verdict last."""
        lines = [f"[{v.severity}] {v.code}: {v.message}"
                 for v in self.sorted_violations()[:limit]]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more violations")
        rows = [(n, d) for n, d in self.input_details().items() if d["status"] != "ok"]
        for name, detail in rows[:limit]:
            lines.append(f"{detail['status']}: {name} [{', '.join(detail['codes'])}] "
                         f"{detail['message']}")
        if len(rows) > limit:
            lines.append(f"... and {len(rows) - limit} more inputs that are not ok")
        lines.append(self.verdict())
        return "\n".join(lines)

    def verdict(self) -> str:
        """One line: FAILED/OK, errors and warnings counted apart, codes, input counts."""
        counts = self.counts()
        inputs = ""
        if counts["total"]:
            inputs = (f" Inputs: {counts['total']} ({counts['ok']} ok, {counts['violating']} "
                      f"violating, {counts['unreadable']} unreadable).")
        if counts.get("not_checked"):
            inputs = inputs[:-2] + f", {counts['not_checked']} not checked)."
        if counts["skipped"]:
            inputs += f" Skipped: {counts['skipped']} (not checked, see the inputs list)."
        errors, warnings = len(self.errors), len(self.warnings)
        found = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        hidden = self.not_listed()
        repeats = f"; {_plural(hidden, 'repeat')} not listed" if hidden else ""
        if counts.get("not_checked"):
            codes = f" ({', '.join(self.codes())})" if self.codes() else ""
            return (f"INTERRUPTED: {counts['not_checked']} of {counts['total']} inputs not "
                    f"checked; in the rest {found}{codes}{repeats}.{inputs}")
        if self.ok:
            tail = f" ({found}: {', '.join(self.codes())}{repeats})" if warnings else ""
            return f"OK: all checks hold{tail}.{inputs}"
        return f"FAILED: {found} ({', '.join(self.codes())}){repeats}.{inputs}"

    def __str__(self) -> str:
        return self.to_text()


def owners(v: Violation) -> list[str | None]:
    """The inputs a finding is about: its ``input`` plus any in ``extra["inputs"]``."""
    more = v.extra.get("inputs") if isinstance(v.extra, dict) else None
    if not more:
        return [v.input]
    return list(dict.fromkeys([v.input, *[str(m) for m in more]]))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
