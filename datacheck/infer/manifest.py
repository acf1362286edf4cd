"""Manifest tables (CSV/TSV/Parquet) for inference: guess the columns, read the files they list.

The ``manifest:`` section names the columns found (image, mask, label,
subject, split, id); each row's image (and mask) is read like a file named
on the command line, with the row's label attached.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.errors import DataError
from datacheck.infer.sources import Batch, Source

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus

SUBJECT_NAMES = ("subject", "subject_id", "participant_id", "participant", "patient",
                 "patient_id", "case_id")
SPLIT_NAMES = ("split", "fold", "set", "subset", "partition")
ID_NAMES = ("id", "example_id", "image_id", "uid")
MASK_WORDS = ("mask", "seg", "segmentation")
#: Label column names, most specific first (LABEL_NAMES in a fixed order).
LABEL_COLUMNS = ("label", "labels", "diagnosis", "target", "targets", "class", "class_id",
                 "classes", "category", "categories", "y")


def _lower(columns: list[str]) -> dict[str, str]:
    return {c.lower(): c for c in columns}


def _first(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = _lower(columns)
    return next((lowered[n] for n in names if n in lowered), None)


def guess_columns(table: Any, readable: tuple[str, ...]) -> dict[str, Any]:
    """Column roles of a manifest table, as ``ManifestSpec`` fields.

    >>> import pandas as pd
    >>> guess_columns(pd.DataFrame({"image": ["a.nii.gz"], "label": [1]}), (".nii.gz",))
    {'image_column': 'image', 'label_column': 'label'}
    """
    columns = [str(c) for c in table.columns]
    file_columns = []
    for column in columns:
        values = [str(v).lower() for v in table[column].dropna().tolist()]
        if values and sum(v.endswith(readable) for v in values) >= 0.9 * len(values):
            file_columns.append(column)
    masks = [c for c in file_columns if any(w in c.lower() for w in MASK_WORDS)]
    images = [c for c in file_columns if c not in masks]
    if not images:
        raise DataError(f"no column of the manifest lists readable files ({', '.join(readable)});"
                        f" columns: {columns}")
    spec: dict[str, Any] = {"image_column": next((c for c in images if c.lower() == "image"),
                                                 images[0])}
    if masks:
        spec["mask_column"] = masks[0]
    for key, names in (("label_column", LABEL_COLUMNS), ("subject_column", SUBJECT_NAMES),
                       ("split_column", SPLIT_NAMES), ("id_column", ID_NAMES)):
        found = _first(columns, names)
        if found is not None and found not in file_columns:
            spec[key] = found
    if "id_column" in spec and table[spec["id_column"]].duplicated().any():
        del spec["id_column"]
    if "split_column" in spec:
        spec["splits"] = sorted(str(v) for v in table[spec["split_column"]].dropna().unique())
    return spec


@dataclass(frozen=True)
class ManifestSplit:
    """The rows of one split of a manifest, as data (``diff --split-a train --split-b val``)."""

    path: Path
    split: str

    def __str__(self) -> str:
        return f"{self.path} [{self.split}]"


def open_manifest(path: Path, mask: Path | None, batch_size: int,
                  split: str | None = None) -> Source:
    """Every row's file(s) as one element, with the row's label under the label column's name.

    ``split`` keeps only the rows whose split column (guessed: split, fold,
    set...) holds that value.
    """
    from datacheck.infer.files import openers
    from datacheck.infer.volumes import open_nifti
    from datacheck.readers.gate import confine
    from datacheck.readers.manifest import manifest_root, read_manifest, resolve_entry, shown_path
    from datacheck.readers.registry import suffixes

    known = {k: v for k, v in openers().items() if k in suffixes("nifti")}
    table = read_manifest(path)
    spec = guess_columns(table, tuple(known))
    root = manifest_root(path, None)
    label_column = spec.get("label_column")
    if split is not None:
        column = spec.get("split_column")
        if column is None:
            raise DataError(f"{path}: no split column (one of {', '.join(SPLIT_NAMES)}) to select "
                            f"split {split!r} from; columns: {[str(c) for c in table.columns]}")
        present = sorted({str(v) for v in table[column].dropna()})
        if split not in present:
            raise DataError(f"{path}: split {split!r} does not occur in column {column!r} "
                            f"(splits: {present})")
        table = table[table[column].astype(str) == split]

    def resolve(value: Any, line: int) -> Path | None:
        entry = resolve_entry(root, value)
        if entry is None:
            return None
        # The gate refuses a path escaping the root before anything is opened.
        confine(str(value).strip(), root, f"{path}: line {line}: {shown_path(value)}")
        if not entry[1].is_file():
            raise DataError(f"{path}: line {line}: {value} does not exist (under {root}). Fix "
                            "the manifest or the dataset root before inferring a schema.")
        return entry[1]

    inputs: dict[str, InputStatus] = {}
    problems: dict[str, Any] = {}

    def batches() -> Iterator[Batch]:
        from datacheck.rules.files import unreadable
        from datacheck.scan.plan import display

        # The index keeps each row's place in the file when read_manifest left a row out.
        for row, record in zip(table.index, table.to_dict("records"), strict=True):
            line = int(row) + 2  # header is line 1
            name = display(str(record[spec["image_column"]]))
            try:
                image = resolve(record[spec["image_column"]], line)
                if image is None:
                    continue
                name = display(image)
                mask_path = resolve(record[spec["mask_column"]], line) \
                    if "mask_column" in spec else None
                # Only NIfTI rows are read (``known``), each inside the dataset root.
                found = list(open_nifti(image, mask_path, 1, root=root).batches)
            except Exception as exc:  # one bad row must never stop inference: noted, skipped
                problems[name] = unreadable(name, exc)
                inputs[name] = "unreadable"
                continue
            inputs[name] = "ok"
            for batch in found:
                if label_column is not None and record[label_column] == record[label_column]:
                    batch.arrays[label_column] = np.asarray([record[label_column]])
                batch.source = f"{path} line {line}: {batch.source}"
                yield batch

    names = ["volume"] + (["mask"] if "mask_column" in spec else []) + (
        [label_column] if label_column else [])
    description = str(path) if split is None else str(ManifestSplit(path, split))
    return Source(names, False, batches(), description, {"manifest": spec}, inputs, problems)
