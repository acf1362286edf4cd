"""Rules for manifest tables: columns, ids, label domain, file paths and subject leakage.

Column rules run through a pandera ``DataFrameSchema`` (lazy, so every
failure is collected); file paths and leakage need the file system and
whole-table grouping, so they are plain pandas. The result says which rows
may be opened: never one whose path escapes the dataset root.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacheck.readers.manifest import (
    WIDE_ROWS,
    BadPathError,
    WideRow,
    file_problem,
    resolve_entry,
    shown_path,
)
from datacheck.rules.violation import Violation
from datacheck.schema.medical import ManifestSpec
from datacheck.schema.model import Schema

#: Rows named in one message; the rest are counted.
SHOWN_ROWS = 8


@dataclass
class ManifestEntry:
    """One row whose files may be opened (inside the root and present)."""

    row: int
    where: str
    image: Path
    mask: Path | None = None
    label: Any = None
    split: Any = None
    index: Any = None  # the table index label, as named in a violation's extra["rows"]
    others: dict[str, Path] = field(default_factory=dict)  # other_image_columns -> path
    subject: Any = None
    #: The dataset root: readers reopening the row's files (every epoch) stay confined to it.
    root: Path | None = None


@dataclass
class ManifestVerdict:
    """What the table rules found, the rows to open, and referenced files that were refused."""

    violations: list[Violation] = field(default_factory=list)
    entries: list[ManifestEntry] = field(default_factory=list)
    refused: dict[Path, str] = field(default_factory=dict)
    #: Each refused path -> the table-level finding that lists it (its reason in the report).
    refused_by: dict[Path, Violation] = field(default_factory=dict)
    #: Files that could be opened but whose row was refused (the mask of a missing image):
    #: path -> why they are not checked, so they still appear in the report.
    unchecked: dict[Path, str] = field(default_factory=dict)


def label_domain(spec: ManifestSpec, schema: Schema) -> list[Any] | None:
    """Allowed labels: declared in the manifest section, else from the schema label."""
    if spec.label_values is not None:
        return list(spec.label_values)
    label = schema.labels.get(spec.label_column or "")
    if label is None:
        return None
    if label.classes is not None:
        return list(label.classes)
    if label.encoding == "sparse" and label.num_classes is not None:
        return list(range(label.num_classes))
    return None


def judge_manifest(spec: ManifestSpec, schema: Schema, table: Any, source: str, root: Path,
                   row_name: str = "line") -> ManifestVerdict:
    """Judge a manifest table; ``row_name`` 'line' numbers rows as in the CSV file.

    >>> judge_manifest(ManifestSpec(), schema, table, "m.csv", Path("."))  # doctest: +SKIP
    ManifestVerdict(violations=[...], entries=[...], refused={})
    """
    verdict = ManifestVerdict()

    def where(index: Any) -> str:
        return f"line {int(index) + 2}" if row_name == "line" else f"row {index}"

    verdict.violations += _wide_row_violations(table, source, where)
    if len(table) == 0:
        if not verdict.violations:  # rows left out for being too wide are already reported
            verdict.violations.append(Violation(
                "manifest", "manifest", f"manifest: manifest: {source} has no rows. Write one "
                "row per example.", observed=0, expected=">= 1 row", where=source))
        return verdict
    verdict.violations += _column_violations(spec, schema, table, source, where)
    verdict.violations += _leakage_violations(spec, table, source, where)
    _path_verdicts(spec, schema, table, source, root, where, verdict)
    return verdict


def rows_of(violation: Violation) -> list[Any] | None:
    """Table rows (index labels) a table violation concerns; None when it concerns the table.

    Drop mode leaves exactly these rows out; a violation about the whole table
    (a missing column, no rows) cannot be dropped row by row.
    """
    rows = violation.extra.get("rows") if violation.extra else None
    return None if rows is None else list(rows)


def _wide_row_violations(table: Any, source: str, where: Any) -> list[Violation]:
    wide: list[WideRow] = list(table.attrs.get(WIDE_ROWS, []))
    if not wide:
        return []
    shown = ", ".join(f"{where(row.index)} has {row.fields} fields" for row in wide[:SHOWN_ROWS])
    more = f" and {len(wide) - SHOWN_ROWS} more rows are as wide" if len(wide) > SHOWN_ROWS \
        else ""
    skipped = "that row is" if len(wide) == 1 else f"those {len(wide)} rows are"
    return [Violation(
        "manifest", "manifest", f"manifest: manifest: {source} {shown}{more}, the header has "
        f"{wide[0].header}: {skipped} skipped, not checked. Quote the path or remove the extra "
        "cell.", observed=[row.fields for row in wide[:100]], expected=f"{wide[0].header} fields",
        where=source, extra={"rows": [row.index for row in wide]})]


def _column_violations(spec: ManifestSpec, schema: Schema, table: Any, source: str,
                       where: Any) -> list[Violation]:
    import pandera.pandas as pa

    mask_required = schema.pairs is not None and schema.pairs.required
    columns: dict[str, Any] = {c: pa.Column(nullable=False) for c in spec.columns()}
    if spec.id_column:
        columns[spec.id_column] = pa.Column(nullable=False, unique=True)
    if spec.mask_column:
        columns[spec.mask_column] = pa.Column(nullable=not mask_required)
    domain = label_domain(spec, schema)
    if spec.label_column and domain is not None:
        columns[spec.label_column] = pa.Column(nullable=False, checks=pa.Check.isin(domain))
    if spec.split_column and spec.splits:
        columns[spec.split_column] = pa.Column(nullable=False, checks=pa.Check.isin(spec.splits))
    try:
        pa.DataFrameSchema(columns, strict=False, coerce=False).validate(table, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    out: list[Violation] = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        out.append(_case_violation(str(check), column, group, table, spec, domain, source,
                                   where))
    return out


def _case_violation(check: str, column: Any, group: Any, table: Any, spec: ManifestSpec,
                    domain: list[Any] | None, source: str, where: Any) -> Violation:
    if check == "column_in_dataframe":
        missing = [str(c) for c in group["failure_case"]]
        have = [str(c) for c in table.columns]
        hints = [f"{m!r} (did you mean {close[0]!r}?)" if close else repr(m)
                 for m in missing for close in [difflib.get_close_matches(m, have, n=1)]]
        return Violation(
            "manifest", "manifest", f"manifest: manifest: {source} lacks column "
            f"{', '.join(hints)}; it has {have}. Add the column, or point the schema's "
            "manifest section at the right one.", observed=have, expected=missing, where=source)
    name = str(column)
    rows = [i for i in group["index"].tolist() if i is not None]
    shown = ", ".join(where(i) for i in rows[:SHOWN_ROWS])
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    values = sorted({_cell(v) for v in group["failure_case"].tolist()})[:SHOWN_ROWS]
    if check == "not_nullable":
        return Violation(
            "manifest", name, f"{name}: manifest: {len(rows)} empty cells in column {name!r} of "
            f"{source} ({shown}{more}). Fill them in or drop those rows.",
            observed=len(rows), expected="no empty cells", where=source, extra={"rows": rows})
    if check == "field_uniqueness":
        return Violation(
            "duplicate", name, f"{name}: duplicate: ids {', '.join(values)} occur more than once "
            f"in {source} ({shown}{more}). Give every example its own id, or drop the repeats.",
            observed=values, expected="unique ids", where=source, extra={"rows": rows})
    if name == spec.label_column:
        return Violation(
            "label_range", name, f"{name}: label_range: labels {', '.join(values)} are outside "
            f"the label domain {domain} in {source} ({shown}{more}). Map them to known classes, "
            "or declare manifest.label_values.", observed=values, expected=domain, where=source,
            extra={"rows": rows})
    return Violation(
        "manifest", name, f"{name}: manifest: values {', '.join(values)} fail {check} in column "
        f"{name!r} of {source} ({shown}{more}). Fix the rows or the schema's manifest section.",
        observed=values, expected=check, where=source, extra={"rows": rows})


def _cell(value: Any) -> str:
    """A table cell as text; pandas turns int columns with gaps into floats (2.0 -> '2')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _leakage_violations(spec: ManifestSpec, table: Any, source: str,
                        where: Any) -> list[Violation]:
    split = spec.split_column
    if not split or split not in table.columns:
        return []
    out: list[Violation] = []
    keys = [(spec.subject_column, "subject"), (spec.image_column, "file")]
    for column, what in keys:
        if not column or column not in table.columns:
            continue
        known = table[[column, split]].dropna()
        splits = known.groupby(column, sort=True)[split].unique()
        leaked = {_cell(k): sorted(map(_cell, v)) for k, v in splits.items() if len(v) > 1}
        if not leaked:
            continue
        # Every row of a leaked subject, in every split: drop mode leaves them all out.
        rows = known.index[known[column].map(_cell).isin(set(leaked))].tolist()
        shown = "; ".join(f"{k} in {', '.join(v)}" for k, v in list(leaked.items())[:SHOWN_ROWS])
        more = f" and {len(leaked) - SHOWN_ROWS} more" if len(leaked) > SHOWN_ROWS else ""
        out.append(Violation(
            "leakage", column, f"{column}: leakage: {len(leaked)} {what}s appear in more than one "
            f"split in {source} ({shown}{more}); the model is scored on data it trained on. "
            f"Split by {what} (sklearn GroupShuffleSplit(groups={column})).",
            observed=leaked, expected="each in one split", where=source, extra={"rows": rows}))
        if what == "subject":
            break  # subject leakage already covers the same file in two splits
    return out


def _path_verdicts(spec: ManifestSpec, schema: Schema, table: Any, source: str, root: Path,
                   where: Any, verdict: ManifestVerdict) -> None:
    columns = [c for c in (spec.image_column, *spec.other_image_columns, spec.mask_column)
               if c and c in table.columns]
    if spec.image_column not in columns:
        return
    real_root = root.resolve()
    # (column, kind) -> "line N: path" items; kind is "escaped", "missing" or "unreadable".
    found: dict[tuple[str, str], list[str]] = {}
    found_paths: dict[tuple[str, str], list[Path]] = {}
    rows: dict[tuple[str, str], list[Any]] = {}
    labels = table[spec.label_column].tolist() if spec.label_column in table.columns else None
    splits = table[spec.split_column].tolist() if spec.split_column in table.columns else None
    subjects = table[spec.subject_column].tolist() if spec.subject_column in table.columns \
        else None
    cells = {column: table[column].tolist() for column in columns}
    for position, index in enumerate(table.index.tolist()):
        paths: dict[str, Path | None] = {}
        usable = True
        for column in columns:
            value = cells[column][position]
            joined, kind, reason = _judge_path(root, real_root, value)
            paths[column] = joined
            if joined is None:
                usable = usable and column != spec.image_column
            elif kind is not None:
                detail = "" if reason in ("missing", "escapes the dataset root") else \
                    f": {reason}"
                found.setdefault((column, kind), []).append(
                    f"{where(index)}: {shown_path(value)}{detail}")
                found_paths.setdefault((column, kind), []).append(joined)
                rows.setdefault((column, kind), []).append(index)
                verdict.refused[joined] = reason or kind
                usable = False
        image = paths.get(spec.image_column)
        if not usable:
            for joined in paths.values():
                if joined is not None and joined not in verdict.refused:
                    verdict.unchecked.setdefault(
                        joined, f"not checked: another file of its row ({where(index)} of "
                        f"{source}) was refused")
        if usable and image is not None:
            verdict.entries.append(ManifestEntry(
                position, f"{source} {where(index)}", image,
                paths.get(spec.mask_column) if spec.mask_column else None,
                None if labels is None else labels[position],
                None if splits is None else splits[position], index,
                {c: p for c in spec.other_image_columns if (p := paths.get(c)) is not None},
                None if subjects is None else subjects[position], root))
    for (column, kind), items in found.items():
        finding = _path_violation(column, kind, items, source, root, rows[column, kind])
        verdict.violations.append(finding)
        verdict.refused_by.update(dict.fromkeys(found_paths[(column, kind)], finding))


def _judge_path(root: Path, real_root: Path,
                value: Any) -> tuple[Path | None, str | None, str | None]:
    """(joined path, problem kind, reason) of one cell; no kind when the file may be opened.

    Any path that cannot be resolved or checked is refused: it is never opened.
    """
    try:
        resolved = resolve_entry(root, value)
    except BadPathError as exc:
        return exc.path, "missing", exc.reason
    if resolved is None:
        return None, None, None
    joined, real = resolved
    if not real.is_relative_to(real_root):
        return joined, "escaped", "escapes the dataset root"
    problem = file_problem(real)
    if problem is None:
        return joined, None, None
    # A name the OS cannot hold, or a symlink loop, is as missing as an absent file.
    absent = problem == "missing" or problem.startswith(("file name", "symlink"))
    return joined, "missing" if absent else "unreadable", problem


def _path_violation(column: str, kind: str, items: list[str], source: str, root: Path,
                    rows: list[Any]) -> Violation:
    listed = "; ".join(items[:SHOWN_ROWS])
    if kind == "escaped":
        return Violation(
            "manifest", column, f"{column}: manifest: {len(items)} paths escape the dataset root "
            f"{root} in {source} ({listed}); refused, not opened (symlinks are followed only "
            "when their target stays inside the root). Use paths inside the root "
            "(relative, without '..'), or set manifest.root.",
            observed=items[:100], expected=f"inside {root}", where=source, extra={"rows": rows})
    if kind == "missing":
        return Violation(
            "missing_file", column, f"{column}: missing_file: {len(items)} files listed in "
            f"{source} do not exist under {root} ({listed}). Fix the paths or set manifest.root.",
            observed=items[:100], expected="existing files", where=source, extra={"rows": rows})
    return Violation(
        "unreadable", column, f"{column}: unreadable: {len(items)} files listed in {source} "
        f"cannot be checked ({listed}); refused, not opened. Fix their permissions or the paths.",
        observed=items[:100], expected="readable files", where=source, extra={"rows": rows})
