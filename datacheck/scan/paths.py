"""Check a list of paths (files, folders, manifests); each input ends ok, violating or unreadable.

Planning (folders, pairs, manifest rules) runs here; every file or pair is
then checked as a unit, serially, in worker processes or on a Dask cluster,
and the results are merged in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from datacheck.data import DEFAULT_BATCH_SIZE
from datacheck.errors import ScanInterrupted
from datacheck.readers.guards import Limits
from datacheck.report.report import Report
from datacheck.scan.collect import MAX_THUMBNAILS, ScanCollector, merge_results
from datacheck.scan.interrupt import Interrupt
from datacheck.scan.parallel import run_units
from datacheck.scan.plan import UNIT_KINDS, plan_scan
from datacheck.scan.units import Options, ScanResult, Unit, run_unit
from datacheck.schema.model import Schema

if TYPE_CHECKING:
    from datacheck.readers.registry import UnitKind


def _single(kind: UnitKind) -> Callable[[Path, Schema, int], Report]:
    def check_one(path: Path, schema: Schema, batch_size: int) -> Report:
        options = Options(batch_size=batch_size)
        result = run_unit(Unit(0, kind, str(path), str(path)), schema, options)
        return merge_results(ScanCollector(schema), [result])

    check_one.__name__ = f"check_{kind}_file"
    return check_one


#: File suffix -> checker of one file. Other readers may register here; suffixes without a
#: unit kind of their own run through their checker, in workers like any other file.
CHECKERS: dict[str, Callable[[Path, Schema, int], Report]] = {
    suffix: _single(kind) for suffix, kind in UNIT_KINDS.items()}


def check_paths(paths: Sequence[str | Path], schema: Schema, *,
                batch_size: int = DEFAULT_BATCH_SIZE, workers: int = 1,
                scheduler: str | None = None, limits: Limits | None = None,
                progress: bool | None = None, each: bool = False,
                montages: int = MAX_THUMBNAILS) -> Report:
    """Check files, folders and manifests; unreadable inputs are reported and the scan goes on.

    All inputs together are one dataset for the dataset-scope rules (class
    coverage and balance, dataset moments); ``each=True`` judges those rules
    per input instead (e.g. ``train.npz test.npz``). Entries of folders that
    are not checked are listed in ``report.skipped`` with the reason. The
    report keeps slice previews of ``montages`` volumes, the most severe first.

    >>> check_paths(["scans/"], load_schema("brain_t1_nifti"), workers=2).counts()  # doctest: +SKIP
    {'ok': 40, 'violating': 2, 'unreadable': 1, 'total': 43}
    """
    kinds: dict[str, UnitKind] = {suffix: UNIT_KINDS.get(suffix, "external") for suffix in CHECKERS}
    limits = limits or Limits()
    plan = plan_scan(paths, schema, kinds, limits)
    collector = ScanCollector(schema)
    collector.add(plan.violations)
    for name, status in plan.inputs.items():
        collector.report.mark_input(name, status)
    for name, reason in plan.skipped.items():
        collector.report.skip(name, reason)
    options = Options(batch_size=batch_size, limits=limits)
    from datacheck.report.progress import progress as progress_bar

    merged: set[int] = set()
    with Interrupt() as stop, \
            progress_bar(len(plan.units), "checking files", enabled=progress) as advance:
        results = run_units(plan.units, schema, options, workers=workers, scheduler=scheduler,
                            roots=_roots(paths, plan.units) if scheduler else (), stop=stop)
        # A Ctrl-C after the last unit was merged stops nothing: the report is whole.
        report = merge_results(collector, _ticking(results, advance, merged), each=each,
                               complete=lambda: len(merged) == len(plan.units),
                               montages=montages)
    report.stats.update({"files": len(plan.units), "workers": workers,
                         "scheduler": scheduler, "skipped_files": len(plan.skipped),
                         "dataset_scope": "each input" if each else "all inputs together"})
    if len(merged) < len(plan.units):
        raise ScanInterrupted(_not_checked(report, plan.units, merged))
    return report


def _roots(paths: Sequence[str | Path], units: Sequence[Unit]) -> list[str]:
    """What Dask workers must be able to read: the paths given, and the folder holding every
    file a unit reads (a manifest may list files outside the folders given)."""
    import os

    files = [p for unit in units for p in (unit.path, unit.mask) if p is not None]
    roots = [os.path.abspath(p) for p in paths]
    if files:
        common = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
        roots += [common] if common not in roots else []
    return roots


def _not_checked(report: Report, units: Sequence[Unit], merged: set[int]) -> Report:
    """Mark the inputs of units that were never merged ``not_checked``, and say why."""
    report.stats["interrupted"] = "the scan was interrupted (Ctrl-C) before it was checked"
    report.stats.setdefault("notes", []).append(
        "Interrupted: the rules about the whole dataset (class balance, coverage, outliers, "
        "emptiness) were not run on the part that was checked. Rerun to check everything.")
    for unit in units:
        if unit.index not in merged:
            for name in (unit.name, unit.mask_name):
                if name is not None:
                    report.mark_input(name, "not_checked")
    return report


def _ticking(results: Iterable[ScanResult], advance: Callable[[int], None],
             merged: set[int]) -> Iterator[ScanResult]:
    """Advance the progress bar as each file's result arrives; note which units were merged."""
    for result in results:
        advance(1)
        yield result
        merged.add(result.index)  # back here only once the merge of this result is done
