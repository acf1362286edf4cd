"""``diff(a, b)``: drift, and optionally duplicates/leakage, between two datasets or profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datacheck.data import DEFAULT_BATCH_SIZE
from datacheck.dedup.hashing import Method
from datacheck.errors import DatacheckError
from datacheck.readers.registry import suffix_of, suffixes
from datacheck.report.report import Report
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema


def _label(data: Any, default: str) -> str:
    from datacheck.infer.manifest import ManifestSplit

    if isinstance(data, (str, Path, ManifestSplit)):
        return str(data)
    return default


def _split(data: Any, split: str | None) -> Any:
    """``data`` (a manifest path) narrowed to one split, or unchanged."""
    from datacheck.infer.manifest import ManifestSplit

    if split is None:
        return data
    if not isinstance(data, (str, Path)) or suffix_of(data) not in suffixes("manifest"):
        raise DatacheckError(f"a split ({split!r}) can only be chosen from a manifest "
                             f"(.csv/.tsv/.parquet), not {_label(data, type(data).__name__)}")
    return ManifestSplit(Path(data), split)


def diff(a: Any, b: Any = None, schema: str | Path | dict[str, Any] | Schema | None = None, *,
         dedup: bool = False, max_distance: int | None = None, method: Method = "ahash",
         batch_size: int = DEFAULT_BATCH_SIZE, save_a: str | Path | None = None,
         save_b: str | Path | None = None, split_a: str | None = None,
         split_b: str | None = None) -> Report:
    """Compare dataset ``b`` with reference ``a`` (train vs validation, train vs serving).

    ``a``/``b``: anything ``dc.check`` reads, or a profile saved as .json.
    Thresholds come from the schema's ``drift`` section (defaults otherwise).
    ``dedup=True`` also looks for exact and near-duplicate elements within
    and across the two (``duplicate``, ``leakage``), and copies across them whose labels
    differ (``label_conflict``: exact ones are errors, near ones warnings). ``split_a``/``split_b``
    choose splits of a manifest (``b`` defaults to ``a``: one manifest).

    >>> from datacheck.drift import diff
    >>> diff((x_train, y_train), (x_val, y_val)).ok  # doctest: +SKIP
    True
    """
    from datacheck.drift.profile import build_profile
    from datacheck.rules.drift import compare_profiles

    resolved = None if schema is None else load_schema(schema)
    if b is None:
        if split_b is None:
            raise DatacheckError("diff needs B, or split_b to compare two splits of manifest A")
        b = a
    a, b = _split(a, split_a), _split(b, split_b)
    name_a, name_b = _label(a, "A"), _label(b, "B")
    if name_a == name_b:
        name_a, name_b = f"A ({name_a})", f"B ({name_b})"
    pa = build_profile(a, schema=resolved, name=name_a, batch_size=batch_size, hashes=dedup,
                       method=method)
    pb = build_profile(b, schema=resolved, name=name_b, batch_size=batch_size, hashes=dedup,
                       method=method)
    for profile, path in ((pa, save_a), (pb, save_b)):
        if path is not None:
            profile.write(path)
    config = resolved.drift if resolved is not None else None
    violations, details = compare_profiles(pa, pb, config, (name_a, name_b))
    report = Report(schema=resolved.name if resolved is not None else None, kind="diff")
    report.extend(violations)
    if dedup:
        from datacheck.dedup.findings import conflict_groups, find_groups
        from datacheck.rules.dedup import duplicate_violations
        from datacheck.rules.label_quality import label_conflict_violations

        for profile, label in ((pa, name_a), (pb, name_b)):
            if profile.hashes is None:
                raise DatacheckError(f"{label}: a saved profile without element hashes cannot be "
                                     "checked for duplicates; save it with --dedup "
                                     "(`datacheck diff ... --dedup --save-a PATH`).")
        assert pa.hashes is not None and pb.hashes is not None
        pa.hashes.name, pb.hashes.name = name_a, name_b
        feature = next((k for k, e in pa.entries.items() if e.role == "feature"), "*")
        indexes = [pa.hashes, pb.hashes]
        groups, distance = find_groups(indexes, max_distance)
        found, stats = duplicate_violations(indexes, feature, distance, groups=groups)
        report.extend(found)
        # Copies across A and B whose labels differ: the same input taught as two classes.
        conflicts = conflict_groups(indexes, groups, across=True)
        report.extend(label_conflict_violations(
            feature, conflicts, f"near copies (perceptual hash within {distance} bits)"))
        stats["label_conflict_groups"] = len(conflicts)
        report.stats["dedup"] = stats
    # Drift is B's departure from A; leakage (and what A lacks) involves A as well.
    errors = [v for v in report.violations if v.severity == "error"]
    across = ("leakage", "label_conflict")
    report.mark_input(name_a, "violating" if any(v.code in across or v.where == name_a
                                                 for v in errors) else "ok")
    report.mark_input(name_b, "violating" if errors else "ok")
    # Files that could not be read were left out of the profiles: each is named, and fails the run.
    for profile in (pa, pb):
        for name, violation in profile.problems.items():
            report.add(violation)
            report.mark_input(name, "unreadable")
    report.summaries = {key: {"kind": "drift", "a": pa.entries[key].to_dict() if key in
                              pa.entries else None,
                              "b": pb.entries[key].to_dict() if key in pb.entries else None,
                              "distances": details.get(key, {})}
                        for key in list(pa.entries) + [k for k in pb.entries
                                                       if k not in pa.entries]}
    report.stats.update({"a": {"source": name_a, "elements": pa.elements},
                         "b": {"source": name_b, "elements": pb.elements}})
    return report
