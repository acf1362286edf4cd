"""A tf.data pipeline from a manifest: NIfTI/HDF5 volumes, each validated as it is read.

The table is judged first (columns, ids, paths inside the root, leakage);
then every element is read with the size guards, its header and voxels are
judged by the same rules as ``datacheck check``, and it is cast to the
feature's dtype and layout. Reading runs in ``tf.numpy_function`` (in
parallel), so the pipeline must run in the trainer's process (not on remote
tf.data service workers).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import DatacheckError, ValidationError
from datacheck.readers.guards import Limits
from datacheck.readers.registry import is_parquet, suffix_of, suffixes
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.rules.labels import empty_label
from datacheck.rules.manifest import ManifestEntry
from datacheck.scan.collect import ScanCollector
from datacheck.schema.dtypes import concrete_dtype
from datacheck.schema.io import load_schema
from datacheck.schema.medical import ManifestSpec, NiftiSpec, PairSpec
from datacheck.schema.model import Feature, Schema

log = logging.getLogger("datacheck")

MODES = ("raise", "warn", "drop")


def manifest_dataset(manifest: str | Path, schema: Any, *, split: str | None = None,
                     on_error: str = "raise", limits: Limits | None = None,
                     report: Report | None = None, num_parallel_calls: int | None = -1,
                     deterministic: bool = True, dtype: Any = "float32") -> Any:
    """Build ``(volume, target)`` elements from a manifest; each element is validated on read.

    The target is the mask (when ``pairs.feature`` names a feature and the
    manifest has a mask column), else the label column, else there is none
    and elements are bare volumes. ``manifest.other_image_columns`` (T2w,
    FLAIR) become more channels of the volume, on the image's grid.
    ``on_error``: ``raise`` (stop at the first violating row), ``warn`` (log
    and keep it) or ``drop`` (log and leave it out). Table errors (a label
    outside the domain, a duplicate id, a leaked subject) count for the rows
    they name, in the chosen split only. Pass ``report`` to collect every
    violation. ``dtype`` is the volume's training dtype (float32 by default);
    a cast that would change stored values (an integer dtype for fractional
    voxels) is a ``dtype`` violation.

    >>> ds = manifest_dataset("ds/manifest.csv", "brain_t1_nifti", split="train")  # doctest: +SKIP
    >>> ds = ds.shuffle(64).batch(2).prefetch(2)  # doctest: +SKIP
    """
    import tensorflow as tf

    from datacheck.readers.manifest import manifest_root, read_manifest
    from datacheck.rules.manifest import judge_manifest
    from datacheck.scan.units import volume_feature

    if on_error not in MODES:
        raise DatacheckError(f"on_error must be one of {MODES}, got {on_error!r}")
    resolved = load_schema(schema)
    spec = resolved.manifest or ManifestSpec()
    name = volume_feature(resolved)
    if name is None:
        raise DatacheckError(f"schema {resolved.name!r} has no feature for the volumes; add one "
                             "(e.g. features: {volume: {layout: DHWC}}).")
    if split is not None and spec.split_column is None:
        raise DatacheckError("split= needs manifest.split_column in the schema")
    x_dtype = _training_dtype(dtype)
    path = Path(manifest)
    table = read_manifest(path, limits)
    row_name = "row" if is_parquet(path) else "line"
    verdict = judge_manifest(spec, resolved, table, str(path), manifest_root(path, spec.root),
                             row_name)
    if report is not None:
        report.extend(verdict.violations)
        report.mark_input(str(path), "violating" if _errors(verdict.violations) else "ok")
    entries = [e for e in verdict.entries if split is None or str(e.split) == split]
    table_errors = _in_split(_errors(verdict.violations), table, spec, split)
    bad_rows = _handle(table_errors, on_error, resolved.name)
    entries = [e for e in entries if e.index not in bad_rows]
    if not entries:
        raise DatacheckError(f"{path}: no usable rows{f' in split {split!r}' if split else ''}.")
    target = _target(resolved, spec)
    feature = resolved.features[name]
    y_dtype = _target_dtype(resolved, target, entries)
    x_shape = _shape(feature)
    y_shape = _shape(resolved.features[resolved.pairs.feature]) if target == "mask" \
        and resolved.pairs is not None and resolved.pairs.feature else []
    loader = _ElementLoader(resolved, name, target, limits or Limits(), on_error, report,
                            (x_dtype, y_dtype), (x_shape, y_shape))

    def load(index: Any) -> tuple[np.ndarray, np.ndarray, np.bool_]:
        x, y, ok = loader(entries[int(index)])
        return x, y, np.bool_(ok)

    out = (tf.as_dtype(x_dtype), tf.as_dtype(y_dtype), tf.bool)
    ds = tf.data.Dataset.range(len(entries)).map(
        lambda i: tuple(tf.numpy_function(load, [i], out, stateful=False)),
        num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    if on_error != "raise":
        ds = ds.filter(lambda x, y, ok: ok)
    if target is None:
        return ds.map(lambda x, y, ok: tf.ensure_shape(x, x_shape))
    return ds.map(lambda x, y, ok: (tf.ensure_shape(x, x_shape), tf.ensure_shape(y, y_shape)))


def _training_dtype(dtype: Any) -> np.dtype[Any]:
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = np.dtype("V")
    if out.kind not in "biuf":
        raise DatacheckError(f"dtype={dtype!r} is not a numeric training dtype; pass e.g. "
                             "'float32' (default), 'float16' or 'int16'.")
    return out


def _errors(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "error"]


def _in_split(errors: list[Violation], table: Any, spec: ManifestSpec,
              split: str | None) -> list[Violation]:
    """Table errors that concern the chosen split: one naming no rows concerns every split."""
    from datacheck.rules.manifest import rows_of

    if split is None or spec.split_column is None or spec.split_column not in table.columns:
        return errors
    splits = dict(zip(table.index.tolist(), table[spec.split_column].tolist(), strict=True))
    # A row missing from the table (skipped as too wide) may belong to any split.
    return [v for v in errors if (rows := rows_of(v)) is None
            or any(r not in splits or str(splits[r]) == split for r in rows)]


def _handle(errors: list[Violation], on_error: str, schema_name: str) -> set[Any]:
    """Raise, or log; returns the table rows drop mode leaves out."""
    from datacheck.rules.manifest import rows_of

    if not errors:
        return set()
    if on_error == "raise":
        raise ValidationError(errors, schema_name)
    whole = [v for v in errors if rows_of(v) is None]
    if on_error == "drop" and whole:
        # No row can be dropped for a problem of the whole table: never feed unchecked rows.
        raise ValidationError(whole, schema_name)
    for v in errors[:10]:
        log.warning("datacheck: %s%s", v.message, " (dropped)" if on_error == "drop" else "")
    if on_error != "drop":
        return set()
    return {r for v in errors for r in rows_of(v) or []}


def _target(schema: Schema, spec: ManifestSpec) -> str | None:
    if schema.pairs is not None and schema.pairs.feature and spec.mask_column:
        return "mask"
    return "label" if spec.label_column else None


def _numpy_dtype(feature: Feature) -> np.dtype[Any]:
    names = feature.dtypes() or ["float32"]
    first = concrete_dtype(names[0])
    return np.dtype("float32" if first == "string" else first)


def _target_dtype(schema: Schema, target: str | None, entries: list[ManifestEntry]) -> Any:
    if target == "mask" and schema.pairs is not None and schema.pairs.feature:
        return _numpy_dtype(schema.features[schema.pairs.feature])
    if target == "label" and any(isinstance(e.label, str) for e in entries):
        return np.dtype(object)
    return np.dtype("int64") if target == "label" else np.dtype("float32")


def _shape(feature: Feature) -> list[int | None] | None:
    if feature.shape is not None:
        return list(feature.shape)
    rank = feature.element_rank
    return None if rank is None else [None] * rank


def _at(entry: ManifestEntry, path: Path) -> str:
    """``path`` as the gate takes it: absolute, so it is not read as relative to the root."""
    return os.path.join(os.getcwd(), path) if entry.root is not None else os.fspath(path)


class _ElementLoader:
    """Reads and judges one manifest row; returns (volume, target, ok) in the training dtypes."""

    def __init__(self, schema: Schema, name: str, target: str | None, limits: Limits,
                 on_error: str, report: Report | None, dtypes: tuple[Any, Any],
                 shapes: tuple[Any, Any]) -> None:
        self.schema, self.name, self.target = schema, name, target
        self.limits, self.on_error, self.report = limits, on_error, report
        self.dtypes, self.shapes = dtypes, shapes

    def __call__(self, entry: ManifestEntry) -> tuple[np.ndarray, Any, bool]:
        from datacheck.rules.loading import cast_violations, fits_pipeline

        collector = ScanCollector(self.schema)
        try:
            x, y, found = self._read(entry, collector)
        except DatacheckError as exc:
            from datacheck.rules.files import unreadable

            x, y, found = np.zeros((0,), np.float32), 0, [unreadable(str(entry.image), exc)]
        if x.size:
            found += cast_violations(self.name, str(entry.image), x, self.dtypes[0])
            if self.target == "mask":
                found += cast_violations(self.schema.pairs.feature if self.schema.pairs
                                         and self.schema.pairs.feature else "mask",
                                         str(entry.mask), np.asarray(y), self.dtypes[1])
        errors = _errors(found)
        if self.report is not None:
            self.report.extend(found)
            self.report.mark_input(str(entry.image), "violating" if errors else "ok")
        x = x.astype(self.dtypes[0], copy=False)
        y = np.asarray(y).astype(self.dtypes[1], copy=False)
        if not errors:
            return x, y, True
        if self.on_error == "raise":
            raise ValidationError(errors, self.schema.name)
        # An unreadable element has no data to keep, whatever the mode.
        keep = self.on_error == "warn" and x.size > 0
        if keep:
            # Warn mode keeps a bad element, but one that cannot take the pipeline's shape
            # would end the epoch in a raw TF shape error: end it here, naming the file.
            misfit = fits_pipeline(errors, f"{entry.image} ({entry.where})",
                                   (x.shape, self.shapes[0]),
                                   (y.shape, self.shapes[1] if self.target else None))
            if misfit:
                raise ValidationError(misfit, self.schema.name)
        log.warning("datacheck: %s (%s)%s", errors[0].message, entry.where,
                    "" if keep else " (dropped)")
        return x, y, keep

    def _read(self, entry: ManifestEntry,
              collector: ScanCollector) -> tuple[np.ndarray, Any, list[Violation]]:
        from datacheck.backends.numpy.views import dtype_name
        from datacheck.readers.nifti import read_nifti
        from datacheck.rules.medical import nifti_header_violations, pair_violations
        from datacheck.scan.volume import (
            element_shape,
            foreground,
            mask_coverage,
            mask_label_counts,
            summarize_element,
            to_layout,
        )

        spec = self.schema.nifti or NiftiSpec()
        feature = self.schema.features[self.name]
        source = str(entry.image)
        header = None
        if suffix_of(entry.image) in suffixes("h5"):
            data, found = self._read_h5(entry.image, entry)
        else:
            volume = read_nifti(_at(entry, entry.image), self.limits, spec.scaling,
                                source=source, root=entry.root)
            found = nifti_header_violations(spec, volume.header, self.name)
            if any(v.code == "intent" for v in found):  # not an image volume: nothing to feed
                return np.zeros((0,), np.float32), 0, found
            data, header = volume.data, volume.header
            if entry.others:
                data, more = self._stack_others(entry, spec, volume.header, data)
                found += more
                if not data.size:  # another grid: the channels cannot be stacked
                    return data, 0, found
        shape = element_shape(data.shape, feature)
        found += collector.add_element(self.name, shape, dtype_name(data),
                                       summarize_element(data, shape), source)
        y: Any = entry.label
        if self.target == "label" and (y is None or (isinstance(y, float) and math.isnan(y))):
            found.append(empty_label(entry.where))
            y = 0
        if entry.mask is not None and header is not None:
            pairs = self.schema.pairs or PairSpec()
            mask = read_nifti(_at(entry, entry.mask), self.limits, spec.scaling,
                              source=str(entry.mask), root=entry.root)
            coverage = mask_coverage(foreground(data), mask.data) \
                if pairs.measures_coverage else None
            found += pair_violations(pairs, header, mask.header,
                                     mask_label_counts(mask.data), pairs.feature or "mask",
                                     coverage)
            if self.target == "mask" and pairs.feature is not None:
                y = to_layout(mask.data, self.schema.features[pairs.feature])
        return to_layout(data, feature), y, found

    def _stack_others(self, entry: ManifestEntry, spec: NiftiSpec, header: Any,
                      data: np.ndarray) -> tuple[np.ndarray, list[Violation]]:
        """The row's other images (T2w, FLAIR) as more channels, after the grid check."""
        from datacheck.readers.nifti import read_nifti
        from datacheck.rules.geometry import consistency_violations
        from datacheck.rules.medical import nifti_header_violations

        found: list[Violation] = []
        channels = [data]
        for column, path in entry.others.items():
            other = read_nifti(_at(entry, path), self.limits, spec.scaling, source=str(path),
                               root=entry.root)
            found += nifti_header_violations(spec, other.header, column)
            found += consistency_violations(header, other.header, spec.affine_tolerance, column,
                                            f"row ({entry.where})")
            channels.append(other.data)
        if len({c.shape for c in channels}) > 1:
            return np.zeros((0,), np.float32), found
        return np.stack(channels, axis=-1), found

    def _read_h5(self, path: Path, entry: ManifestEntry) -> tuple[np.ndarray, list[Violation]]:
        from datacheck.readers.guards import check_declared, limits_with
        from datacheck.readers.h5chunks import open_dataset
        from datacheck.readers.hdf5 import describe, open_h5, read_rows
        from datacheck.rules.medical import h5_dataset_violations
        from datacheck.scan.h5scan import dataset_map

        ds = dataset_map(self.schema).get(self.name)
        if ds is None:
            raise DatacheckError(f"{path}: hdf5.datasets has no entry for {self.name!r}")
        # The schema's hdf5.allow_external joins the caller's limits (one resolver).
        limits = limits_with(base=self.limits, allow_external=bool(
            self.schema.hdf5 and self.schema.hdf5.allow_external))
        with open_h5(_at(entry, path), str(path), entry.root, limits) as handle:
            info = describe(handle, ds.path)
            found = h5_dataset_violations(str(path), self.name, ds, info)
            if info is None or not info.dataset:
                raise DatacheckError(found[0].message)
            check_declared(f"{path}:{ds.path}", info.shape or (1,), info.itemsize, self.limits)
            data = read_rows(handle, info, 0, info.shape[0], str(path)) if info.shape \
                else np.asarray(open_dataset(handle, info)[()])
        return data, found
