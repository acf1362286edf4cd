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
from collections.abc import Iterable
from dataclasses import dataclass, field

from datacheck.backends.numpy.check import Collector
from datacheck.backends.numpy.evaluate import evaluate
from datacheck.backends.numpy.views import SummaryView
from datacheck.report.report import Report
from datacheck.report.violation import Violation
from datacheck.rules.judge import static_checks, value_checks
from datacheck.schema.model import Schema
from datacheck.summary import LabelSummary, TensorSummary

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
    inputs: dict[str, str] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    occurrences: Counter[tuple[str, str]] = field(default_factory=Counter)
    summaries: dict[str, TensorSummary | LabelSummary] = field(default_factory=dict)
    batches: int = 0
    elements: int = 0
    #: Small middle-slice thumbnails of flagged volumes, so the HTML report reads no file.
    thumbnails: dict[str, list[dict[str, object]]] = field(default_factory=dict)


#: Flagged volumes whose thumbnails a report keeps (the HTML montage shows as many).
MAX_THUMBNAILS = 12


class ScanCollector(Collector):
    """A Collector that also judges a whole file as one element from a streamed summary.

    >>> col = ScanCollector(schema)  # doctest: +SKIP
    >>> col.add_element("volume", (64, 64, 30, 1), "float32", summary, "a.nii.gz")
    []
    """

    def __init__(self, schema: Schema, report: Report | None = None) -> None:
        super().__init__(schema, report)
        self.thumbnails: dict[str, list[dict[str, object]]] = {}

    def add(self, violations: list[Violation]) -> None:
        # One reason per unreadable input: these are not capped like repeated findings.
        self.report.extend([v for v in violations if v.code in PER_INPUT_CODES])
        super().add([v for v in violations if v.code not in PER_INPUT_CODES])

    def add_element(self, name: str, shape: tuple[int, ...], dtype: str,
                    summary: TensorSummary, source: str) -> list[Violation]:
        """Judge one element of ``shape`` through the feature rules; returns its violations."""
        found, static_ok = evaluate(static_checks(self.schema, name, (1, *shape), dtype),
                                    None, None, source)
        merged = self.summaries.get(name)
        self.summaries[name] = summary if merged is None else merged.merge(summary)
        if static_ok and name in self.schema.features:
            view = ElementView(shape, dtype, summary)
            more, _ = evaluate(value_checks(self.schema, name, view), None, None, source)
            found += more
        self.batches += 1
        self.elements += 1
        self.add(found)
        return found

    def result(self, index: int, inputs: dict[str, str]) -> ScanResult:
        return ScanResult(index, inputs, list(self.report.violations),
                          Counter(self.occurrences), dict(self.summaries), self.batches,
                          self.elements, dict(self.thumbnails))


def has_error(violations: Iterable[Violation]) -> bool:
    return any(v.severity == "error" for v in violations)


def merge_results(collector: Collector, results: Iterable[ScanResult]) -> Report:
    """Fold unit results into ``collector`` (in the order given) and finish the report."""
    for result in results:
        shipped: Counter[tuple[str, str]] = Counter()
        for v in result.violations:
            if v.code in PER_INPUT_CODES:
                collector.report.add(v)
            else:
                shipped[(v.feature, v.code)] += 1
                collector.add([v])
        for key, count in result.occurrences.items():
            collector.occurrences[key] += max(count - shipped[key], 0)
        for name, summary in result.summaries.items():
            merged = collector.summaries.get(name)
            collector.summaries[name] = summary if merged is None else merged.merge(summary)
        for name, status in result.inputs.items():
            collector.report.mark_input(name, status)
        collector.batches += result.batches
        collector.elements += result.elements
        for name, slices in result.thumbnails.items():
            kept = collector.report.stats.setdefault("thumbnails", {})
            if len(kept) < MAX_THUMBNAILS:
                kept[name] = slices
    return collector.finish()
