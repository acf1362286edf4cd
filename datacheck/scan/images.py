"""Image folders as a source: plan them into units of images, and check each image.

Two layouts, as Keras users have them: class-per-subfolder
(``keras.utils.image_dataset_from_directory``: each direct subfolder is a
class, the class index is the subfolder's rank in sorted order) and a flat
folder with a labels table (``labels.csv`` or ``images.labels_csv``). Each
image is read, scaled as the schema declares and judged as one element (an
array [1, H, W, C]) named by its file, so every file ends ok, violating or
unreadable with its own reason; files that are not checked are listed as
skipped with why. The order of files on disk is not the training order (the
loader shuffles), so the ``unshuffled`` rule is not applied to folders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.readers.images import IMAGE_SUFFIXES
from datacheck.schema.model import Schema
from datacheck.schema.quality import ImageFolderSpec

if TYPE_CHECKING:
    from datacheck.engine.collector import Collector
    from datacheck.readers.guards import Limits
    from datacheck.readers.registry import UnitKind
    from datacheck.report.report import InputStatus
    from datacheck.scan.collect import ScanCollector
    from datacheck.scan.plan import Plan
    from datacheck.scan.units import Options, Unit

KIND: UnitKind = "images"
#: (path, display name, class index or None, element index) of one image.
Member = tuple[str, str, int | None, int]
#: Images per scan unit (a unit runs in one worker, so --workers splits big folders).
CHUNK = 256


def is_image(path: Path) -> bool:
    return path.name.lower().endswith(IMAGE_SUFFIXES)


def plan_images(plan: Plan, folder: Path, images: list[Path], schema: Schema | None,
                limits: Limits) -> None:
    """Add the units for the images of ``folder``; labels from subfolders or a table."""
    spec = (schema.images if schema is not None else None) or ImageFolderSpec()
    table = folder / spec.labels_csv if spec.labels_csv else folder / "labels.csv"
    if spec.labels_csv is not None or table.is_file():
        members = _from_table(plan, folder, images, table, spec, limits)
    else:
        members = _from_subfolders(plan, folder, images)
    for start in range(0, len(members), CHUNK):
        chunk = tuple(members[start:start + CHUNK])
        plan.units.append(_unit(len(plan.units), os.fspath(folder), plan.name(folder), chunk))


def _unit(index: int, path: str, name: str, members: tuple[Any, ...]) -> Unit:
    from datacheck.scan.units import Unit

    return Unit(index, KIND, path, name, members=members)


def _from_subfolders(plan: Plan, folder: Path, images: list[Path]) -> list[Member]:
    """Class index by sorted subfolder name; images beside the class folders are skipped."""
    nested = [p for p in images if p.parent != folder]
    if not nested:  # a flat folder without a table: images without labels
        return [(os.fspath(p), plan.name(p), None, i) for i, p in enumerate(images)]
    classes = sorted({p.relative_to(folder).parts[0] for p in nested})
    members: list[Member] = []
    for path in images:
        if path.parent == folder:
            plan.skip(path, "image beside the class subfolders: image_dataset_from_directory "
                      "ignores it; move it into its class folder")
            continue
        label = classes.index(path.relative_to(folder).parts[0])
        members.append((os.fspath(path), plan.name(path), label, len(members)))
    return members


def _from_table(plan: Plan, folder: Path, images: list[Path], table: Path,
                spec: ImageFolderSpec, limits: Limits) -> list[Member]:
    from datacheck.errors import DatacheckError
    from datacheck.readers.manifest import read_manifest
    from datacheck.rules.images import bad_labels_table, missing_image, unlabeled_image

    name = plan.name(table)
    plan.skipped.pop(name, None)  # the walk skipped it as "a table in a data folder"
    try:
        rows = read_manifest(table, limits, source=name)
        missing = [c for c in (spec.file_column, spec.label_column) if c not in rows.columns]
        if missing:
            raise DatacheckError(f"no column {missing[0]!r} (columns: {list(rows.columns)}); "
                                 "name the columns in images.file_column / label_column.")
    except (DatacheckError, OSError) as exc:
        plan.refuse(name, bad_labels_table(name, str(exc).removeprefix(f"{name}: ")))
        return [(os.fspath(p), plan.name(p), None, i) for i, p in enumerate(images)]
    values = list(rows[spec.label_column])
    if all(isinstance(v, (int, np.integer)) for v in values):
        labels = [int(v) for v in values]
    else:  # names: class index by sorted name, as Keras infers them
        names = sorted({str(v) for v in values})
        labels = [names.index(str(v)) for v in values]
    by_file: dict[str, int] = {}
    present = {os.path.normpath(p) for p in images}
    for line, (file, label) in enumerate(zip(rows[spec.file_column], labels, strict=True), 2):
        key = os.path.normpath(os.path.join(folder, str(file)))
        if key not in present:
            plan.refuse(name, missing_image(name, str(file), line), "violating")
            continue
        by_file[key] = label
    plan.inputs.setdefault(name, "ok")
    members: list[Member] = []
    for path in images:
        label_of = by_file.get(os.path.normpath(path))
        if label_of is None:
            image = plan.name(path)
            plan.refuse(image, unlabeled_image(image, name, spec.file_column), "violating")
            continue
        members.append((os.fspath(path), plan.name(path), label_of, len(members)))
    return members


def run_images(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
               inputs: dict[str, InputStatus]) -> None:
    """Read and judge each image of ``unit``; one bad file never stops the others."""
    from datacheck.errors import DataError
    from datacheck.readers.images import read_image, to_feature_scale
    from datacheck.rules.files import unreadable
    from datacheck.scan.collect import has_error

    spec = schema.images or ImageFolderSpec()
    feature = spec.feature or next(iter(schema.features), None)
    label = spec.label or next(iter(schema.labels), None)
    if feature is None:
        raise ValueError("the schema names no feature to judge images as; add one under "
                         "features (e.g. image: {layout: HWC, normalization: unit})")
    judged = _without_order_rules(schema)
    collector.schema = judged
    collector.batched = False  # one image per step: "file, element 12", never "batch 12"
    declared = judged.features[feature]
    members = unit.members or ((unit.path, unit.name, None, 0),)
    channels: dict[str, int] = {}
    for path, name, lab, index in members:
        try:
            if not os.path.isfile(path):  # a pipe would block the reader forever
                raise DataError(f"{name}: not a regular file (a device or pipe); remove it.")
            array = read_image(path, options.limits, source=name)
        except Exception as exc:
            collector.add([unreadable(name, exc)], input=name)
            inputs[name] = "unreadable"
            continue
        channels[name] = int(array.shape[-1])
        batch = {feature: to_feature_scale(array, declared.normalization,
                                           declared.value_range())[None]}
        if label is not None and lab is not None:
            batch[label] = np.asarray([lab], dtype=np.int64)
        collector.input = name
        found = collector.add_batch(batch, index, index, source=name)
        inputs[name] = "violating" if has_error(found) else "ok"
    collector.input = unit.name
    collector.channels.update(channels)  # compared across the whole folder after the merge


def judge_channels(collector: Collector, channels: dict[str, int]) -> None:
    """Grayscale among RGB (or RGBA) files of all image folders: ``layout`` per odd file."""
    from datacheck.rules.images import mixed_channels

    spec = collector.schema.images or ImageFolderSpec()
    feature = spec.feature or next(iter(collector.schema.features), None)
    if feature is None or collector.schema.features[feature].expected_channels is not None:
        return  # declared channels: the shape rule already named each file
    for v in mixed_channels(feature, channels):
        collector.add([v], input=v.input)
        collector.report.mark_input(str(v.input), "violating")


def _without_order_rules(schema: Schema) -> Schema:
    """The schema without ``shuffle_window``: file order on disk is not training order."""
    if not any(lab.shuffle_window is not None for lab in schema.labels.values()):
        return schema
    labels = {k: v.model_copy(update={"shuffle_window": None}) for k, v in schema.labels.items()}
    return schema.model_copy(update={"labels": labels})
