"""Check one HDF5 file: dataset rules, then the data slab by slab through the feature judge.

Batched datasets (axis 0 = examples) are read together in slabs bounded by
``hdf5.slab_bytes`` and cut into batches of ``batch_size`` for the Collector,
exactly like arrays. A dataset with ``batched: false`` is one large element:
its summary is merged slab by slab and judged once, never loaded whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datacheck.data import iter_batches
from datacheck.errors import DataError
from datacheck.readers.h5chunks import chunk_guard
from datacheck.readers.hdf5 import (
    describe,
    iter_slabs,
    open_h5,
    read_rows,
    readable_guard,
    row_guard,
    slab_rows,
)
from datacheck.report.violation import Violation
from datacheck.rules.files import dataset_refused, misaligned_lengths
from datacheck.rules.medical import h5_dataset_violations
from datacheck.scan.collect import ScanCollector, has_error
from datacheck.scan.volume import element_shape, element_summary, value_stats
from datacheck.schema.medical import H5DatasetSpec, HDF5Spec
from datacheck.schema.model import Schema
from datacheck.summary import TensorSummary

if TYPE_CHECKING:
    from datacheck.readers.hdf5 import H5Info
    from datacheck.report.report import InputStatus
    from datacheck.scan.units import Options, Unit


def dataset_map(schema: Schema) -> dict[str, H5DatasetSpec]:
    """Schema name -> dataset spec: as declared in ``hdf5.datasets``, else ``/<name>``."""
    declared = (schema.hdf5 or HDF5Spec()).datasets
    return {name: declared.get(name) or H5DatasetSpec(path=f"/{name}")
            for name in schema.names()}


def scan_h5(unit: Unit, schema: Schema, options: Options, collector: ScanCollector) -> InputStatus:
    """Judge one file into ``collector``; returns its input status.

    Dataset paths with wildcards (``/sub-*/T1w``) are judged once per group
    of matches (``datacheck.scan.h5groups``).
    """
    from datacheck.scan.h5groups import dataset_groups

    status: InputStatus = "ok"
    found: list[Violation] = []
    from datacheck.readers.guards import limits_with

    spec = schema.hdf5 or HDF5Spec()
    limits = limits_with(base=options.limits, allow_external=spec.allow_external)
    with open_h5(unit.at(unit.path), unit.name, unit.root, limits) as handle:
        for group, datasets in dataset_groups(handle, schema, dataset_map(schema)):
            group_status, group_found = _scan_group(handle, unit, schema, options, collector,
                                                    datasets, group)
            found += group_found
            status = "unreadable" if "unreadable" in (status, group_status) else status
    if status == "ok" and has_error(found):
        status = "violating"
    return status


def _scan_group(handle: Any, unit: Unit, schema: Schema, options: Options,
                collector: ScanCollector, datasets: dict[str, H5DatasetSpec],
                group: str) -> tuple[InputStatus, list[Violation]]:
    spec = schema.hdf5 or HDF5Spec()
    found: list[Violation] = []
    status: InputStatus = "ok"
    batched: dict[str, H5Info] = {}
    single: dict[str, H5Info] = {}
    for name, ds in datasets.items():
        info = describe(handle, ds.path, unit.name)
        optional = _optional(schema, name)
        if info is None and optional:
            continue
        found += h5_dataset_violations(unit.name, name, ds, info, spec.attr_tolerance)
        if info is None or not info.dataset:
            continue
        refused = _refusal(unit, name, ds, info, options)
        if refused is not None:
            found.append(refused)
            status = "unreadable"
            continue
        (batched if ds.batched else single)[name] = info
    collector.missing_reported.update(n for n in schema.names() if n not in batched)
    collector.add(found)
    source = f"{unit.name}:{group}" if group else unit.name
    found += _scan_batched(handle, unit, batched, spec, options, collector, source)
    for name, info in single.items():
        found += _scan_single(handle, unit, name, info, spec, schema, collector)
    return status, found


def _refusal(unit: Unit, name: str, ds: H5DatasetSpec, info: H5Info,
             options: Options) -> Violation | None:
    """The violation refusing a dataset before any row is read (None when it can be read)."""
    try:
        if ds.batched:  # first: a row too large to allocate is the sharper reason
            row_guard(unit.name, info, options.limits)
        chunk_guard(unit.name, info, options.limits)
        readable_guard(unit.name, info)
    except DataError as exc:  # TooLargeError is a DataError: too_large
        return dataset_refused(name, unit.name, exc)
    return None


def _optional(schema: Schema, name: str) -> bool:
    entry = schema.features.get(name) or schema.labels.get(name)
    return bool(entry is not None and entry.optional)


def _scan_batched(handle: Any, unit: Unit, infos: dict[str, H5Info], spec: HDF5Spec,
                  options: Options, collector: ScanCollector,
                  source: str | None = None) -> list[Violation]:
    if not infos:
        return []
    found: list[Violation] = []
    lengths = {name: (info.shape[0] if info.shape else 1) for name, info in infos.items()}
    if len(set(lengths.values())) > 1:
        v = misaligned_lengths(lengths, source or unit.name, unit.name)
        found.append(v)
        collector.add([v])
    total = min(lengths.values())
    # Slabs hold whole batches, so batch boundaries (and per-batch rules) match array input;
    # only rows too large for one batch per slab make smaller batches.
    step = min(slab_rows(info, spec.slab_bytes) for info in infos.values())
    if step >= options.batch_size:
        step -= step % options.batch_size
    index = 0
    for start in range(0, total, step):
        stop = min(start + step, total)
        slab = {name: read_rows(handle, info, start, stop, unit.name)
                for name, info in infos.items()}
        offset = start
        for batch in iter_batches(slab, options.batch_size):
            found += collector.add_batch(batch, index, offset, source=source or unit.name)
            offset += max(a.shape[0] if a.ndim else 1 for a in batch.values())
            index += 1
    return found


def _scan_single(handle: Any, unit: Unit, name: str, info: H5Info, spec: HDF5Spec,
                 schema: Schema, collector: ScanCollector) -> list[Violation]:
    stats = TensorSummary()
    for _, rows in iter_slabs(handle, info, spec.slab_bytes, unit.name):
        stats = stats.merge(value_stats(rows))
    shape = element_shape(info.shape, schema.features.get(name))
    summary = element_summary(shape, info.dtype, stats)
    return collector.add_element(name, shape, info.dtype, summary, f"{unit.name}:{info.path}")
