"""Per-unit collection and the parent-side merge of scan results.

A scan unit (one file, one image/mask pair, one HDF5 file) is judged in a
worker by a :class:`ScanCollector` and comes back as a small, picklable
:class:`ScanResult`. The parent merges results in input order with the same
capping as one Collector, merges the summaries associatively and only then
runs the dataset-scope rules, so 1, N processes or a Dask cluster give the
same report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from datacheck.backends.numpy.evaluate import evaluate
from datacheck.backends.numpy.views import SummaryView
from datacheck.engine.collector import Collector, Key
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.rules.judge import dataset_violations, static_checks, value_checks
from datacheck.schema.model import Schema
from datacheck.summary import LabelSummary, TensorSummary

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus

#: Codes about one input each; never capped, so every unreadable input keeps its reason.
PER_INPUT_CODES = frozenset({"unreadable", "too_large", "missing_file"})


class ElementView(SummaryView):
    """A whole file as one element: predicates come from its summary, no per-element masks."""

    def __init__(self, shape: tuple[int, ...], dtype: str, summary: TensorSummary) -> None:
        super().__init__(summary, (1, *shape), dtype)


@dataclass
class ScanResult:
    """What one unit found: inputs with status, capped violations, occurrences, summaries."""

    index: int
    inputs: dict[str, InputStatus] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    occurrences: Counter[Key] = field(default_factory=Counter)
    summaries: dict[str, TensorSummary | LabelSummary] = field(default_factory=dict)
    batches: int = 0
    elements: int = 0
    group: str | None = None
    #: Foreground percentiles per scan, compared across the dataset by the outlier rule.
    scan_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    element_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    element_indices: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: Small middle-slice thumbnails of each volume, so the HTML report reads no file.
    thumbnails: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    #: Per volume: orientation shown, its mask, foreground histogram (scan.previews).
    previews: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Foreground intensities of the unit's volumes (a ChannelHistogram; merges exactly).
    foreground: Any = None
    #: Per-image sharpness, judged against the dataset median after the merge (blurry).
    sharpness: dict[str, list[Any]] = field(default_factory=dict)
    #: Channels of each image of an image folder, compared across the folder after the merge.
    channels: dict[str, int] = field(default_factory=dict)


#: Volumes whose previews a report keeps by default (the HTML report shows as many),
#: the most severe first; ``check(..., montages=N)`` keeps N.
MAX_THUMBNAILS = 12


class ScanCollector(Collector):
    """A Collector that also judges a whole file as one element from a streamed summary.

    >>> import numpy as np
    >>> from datacheck import load_schema
    >>> col = ScanCollector(load_schema("mri3d"))
    >>> zeros = np.zeros((1, 8, 8, 4), np.float32)  # a volume without its channel axis
    >>> [v.code for v in col.add_element("volume", (8, 8, 4), "float32",
    ...                                  TensorSummary.from_array(zeros), "a.nii.gz")]
    ['rank']
    """

    def __init__(self, schema: Schema, report: Report | None = None,
                 input: str | None = None) -> None:
        super().__init__(schema, report, input=input)
        self.scan_stats: dict[str, dict[str, float]] = {}
        self.thumbnails: dict[str, list[dict[str, object]]] = {}
        self.previews: dict[str, dict[str, Any]] = {}
        self.foreground: Any = None
        self.channels: dict[str, int] = {}

    def add(self, violations: list[Violation], input: str | None = None) -> None:
        owner = input if input is not None else self.input
        for v in violations:
            if v.input is None and owner is not None:
                v = replace(v, input=owner)
            if v.code in PER_INPUT_CODES:
                # One reason per unreadable input: these are not capped like repeated findings.
                self.report.add(v)
            else:
                self.record(v)

    def add_element(self, name: str, shape: tuple[int, ...], dtype: str,
                    summary: TensorSummary, source: str,
                    input: str | None = None) -> list[Violation]:
        """Judge one element of ``shape`` through the feature rules; returns its violations."""
        found, static_ok = evaluate(static_checks(self.schema, name, (1, *shape), dtype),
                                    None, None, source)
        merged = self.summaries.get(name)
        self.summaries[name] = summary if merged is None else merged.merge(summary)
        self.present = True
        if static_ok and name in self.schema.features:
            view = ElementView(shape, dtype, summary)
            more, _ = evaluate(value_checks(self.schema, name, view), None, None, source)
            found += more
        self.batches += 1
        self.elements += 1
        self.add(found, input)
        return found

    def result(self, index: int, inputs: dict[str, InputStatus]) -> ScanResult:
        return ScanResult(index, inputs, list(self.report.violations),
                          Counter(self.occurrences), dict(self.summaries), self.batches,
                          self.elements, scan_stats=dict(self.scan_stats),
                          element_counts=Counter(self.element_counts),
                          element_indices={k: list(v) for k, v in self.element_indices.items()},
                          thumbnails=dict(self.thumbnails), previews=dict(self.previews),
                          foreground=self.foreground,
                          sharpness={k: list(v) for k, v in self.sharpness.items()},
                          channels=dict(self.channels))


def has_error(violations: Iterable[Violation]) -> bool:
    return any(v.severity == "error" for v in violations)


def merge_results(collector: Collector, results: Iterable[ScanResult],
                  each: bool = False, complete: Callable[[], bool] = lambda: True,
                  montages: int = MAX_THUMBNAILS) -> Report:
    """Fold unit results into ``collector`` (in the order given) and finish the report.

    Dataset-scope rules run once on the merged summaries (the inputs are one
    dataset), or with ``each`` once per unit, owned by that unit's input, and
    once per manifest split for units that belong to one. When ``complete()``
    is False after the last result (an interrupted scan), rules about the
    whole dataset or split are not run on the part that was checked. The
    previews of ``montages`` volumes are kept, errors first, then warnings,
    then ok ones, each in input order.
    """
    kept = _Previews(montages)
    groups: dict[str, dict[str, Any]] = {}
    scan_stats: dict[str, dict[str, float]] = {}
    channels: dict[str, int] = {}
    for result in results:
        scan_stats.update(result.scan_stats)
        channels.update(result.channels)
        for name, records in result.sharpness.items():
            collector.sharpness.setdefault(name, []).extend(records)
        shipped: Counter[Key] = Counter()
        for v in result.violations:
            if v.code in PER_INPUT_CODES:
                collector.report.add(v)
            else:
                shipped[(v.input, v.feature, v.code)] += 1
                collector.record(v)
        if each and result.group is not None:
            merged_group = groups.setdefault(result.group, {})
            for name, summary in result.summaries.items():
                held = merged_group.get(name)
                merged_group[name] = summary if held is None else held.merge(summary)
        elif each and result.inputs:
            owner = next(iter(result.inputs))
            found = dataset_violations(collector.schema, result.summaries, owner)
            collector.add(found, input=owner)
            if has_error(found) and result.inputs[owner] == "ok":
                result.inputs[owner] = "violating"
        for key, count in result.occurrences.items():
            collector.occurrences[key] += max(count - shipped[key], 0)
        for name, summary in result.summaries.items():
            merged = collector.summaries.get(name)
            collector.summaries[name] = summary if merged is None else merged.merge(summary)
        for name, status in result.inputs.items():
            collector.report.mark_input(name, status)
        collector.batches += result.batches
        collector.elements += result.elements
        collector.present |= bool(result.summaries)
        for element_key, count in result.element_counts.items():
            # Indices count within their file: keep those of the first file that has any.
            collector.element_counts[element_key] += count
            collector.element_indices.setdefault(element_key,
                                                 result.element_indices.get(element_key, []))
            collector.element_inputs[element_key] += 1
        kept.offer(result)
    kept.store(collector.report)
    if not complete():
        return collector.finish(dataset=False, complete=False)
    for group, summaries in groups.items():  # a split is a dataset of its own, owned by no file
        collector.add_dataset(dataset_violations(collector.schema, summaries, group))
    collector.report.extend(_outliers(collector.schema, scan_stats))
    if channels:
        from datacheck.scan.images import judge_channels

        judge_channels(collector, channels)
    return collector.finish(dataset=not each)


class _Previews:
    """The previews a report keeps: at most ``limit`` per severity while merging (bounded
    memory whatever the dataset size), then the ``limit`` most severe in input order."""

    def __init__(self, limit: int) -> None:
        self.limit = max(int(limit), 0)
        self.ranked: tuple[list[tuple[str, Any, Any]], ...] = ([], [], [])
        self.foreground: Any = None  # every volume's, not only the kept ones

    def offer(self, result: ScanResult) -> None:
        if result.foreground is not None:
            self.foreground = result.foreground if self.foreground is None \
                else self.foreground.merge(result.foreground)
        if not result.thumbnails:
            return
        severities = {v.severity for v in result.violations}
        rank = 0 if "error" in severities else 1 if "warning" in severities else 2
        bucket = self.ranked[rank]
        for name, slices in result.thumbnails.items():
            if len(bucket) < self.limit:
                bucket.append((name, slices, result.previews.get(name)))

    def store(self, report: Report) -> None:
        chosen = [entry for bucket in self.ranked for entry in bucket][:self.limit]
        if chosen:
            report.stats["thumbnails"] = {name: slices for name, slices, _ in chosen}
            report.stats["previews"] = {name: info for name, _, info in chosen
                                        if info is not None}
        if self.foreground is not None and self.foreground.total:
            report.stats["foreground_histogram"] = self.foreground.to_dict()


def _outliers(schema: Schema, scan_stats: dict[str, dict[str, float]]) -> list[Violation]:
    """Per-scan intensity outliers: judged once over every scan of the dataset."""
    if not scan_stats:
        return []
    from datacheck.rules.intensity import scan_outlier_violations
    from datacheck.scan.units import volume_feature

    spec = schema.nifti
    threshold = spec.outlier_z if spec is not None else 5.0
    return scan_outlier_violations(scan_stats, threshold, volume_feature(schema) or "nifti")
