"""``find_duplicates``: duplicates within datasets and leakage across them, as a Report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datacheck.data import DEFAULT_BATCH_SIZE
from datacheck.dedup.hashing import Method
from datacheck.errors import DatacheckError
from datacheck.report.report import Report
from datacheck.rules.dedup import duplicate_violations
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema


def find_duplicates(*datasets: Any, names: list[str] | None = None,
                    schema: str | Path | dict[str, Any] | Schema | None = None,
                    max_distance: int | None = None, method: Method = "ahash",
                    near: bool = True, batch_size: int = DEFAULT_BATCH_SIZE) -> Report:
    """Exact and near-duplicate elements within each dataset (``duplicate``) and across
    them (``leakage``). Datasets are anything ``dc.check`` reads, or profiles saved
    with hashes.

    >>> from datacheck.dedup import find_duplicates
    >>> find_duplicates((x_train, y_train), (x_test, y_test), names=["train", "test"]).ok
    ... # doctest: +SKIP
    True
    """
    from datacheck.drift.profile import build_profile

    if not datasets:
        raise DatacheckError("find_duplicates needs at least one dataset")
    if names is not None and len(names) != len(datasets):
        raise DatacheckError(f"names has {len(names)} entries for {len(datasets)} datasets")
    resolved = None if schema is None else load_schema(schema)
    labels = names or [str(d) if isinstance(d, (str, Path)) else f"split {i}"
                       for i, d in enumerate(datasets)]
    profiles = [build_profile(d, schema=resolved, name=label, hashes=True, method=method,
                              batch_size=batch_size) for d, label in zip(datasets, labels,
                                                                         strict=True)]
    indexes = []
    for profile, label in zip(profiles, labels, strict=True):
        if profile.hashes is None:
            raise DatacheckError(f"{label}: a saved profile without element hashes; save it with "
                                 "`datacheck infer DATA --profile PATH --hashes`.")
        profile.hashes.name = label
        indexes.append(profile.hashes)
    feature = next((k for k, e in profiles[0].entries.items() if e.role == "feature"), "*")
    violations, stats = duplicate_violations(indexes, feature, max_distance, near)
    report = Report(schema=resolved.name if resolved is not None else None, kind="dedup")
    report.extend(violations)
    for label in labels:
        bad = any(v.severity == "error" and label in v.extra.get("splits", [])
                  for v in violations)
        report.mark_input(label, "violating" if bad else "ok")
    report.stats["dedup"] = stats
    return report
