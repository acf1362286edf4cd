"""The drop log: what drop mode removed, pass by pass, written in graph and read back by report().

Counts cannot be gathered by the Python object the user holds: Keras, prefetch,
repeat, tf.distribute and tf.data service workers iterate copies of the graph
(FINDINGS.md). So the graph itself writes every fact to the log, and the log is
the one source of the counts. A *pass* is one iterator over the validated stage
(one epoch, one repetition, one service worker's share); it is complete when its
end marker was written. Lines (tab-separated):

    datacheck-drop  RUN PASS BATCH SIZE INDICES   then that batch's violation records
    datacheck-pass  RUN PASS ELEMENTS DROPPED     the pass reached its end

RUN is the id of one ``validate()`` call, so records of another run that share
the path are never counted; PASS starts with the time the pass started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from datacheck.backends.tf.errors import parse_record
from datacheck.report.violation import Violation

if TYPE_CHECKING:
    from datacheck.report.report import RunStats


DROP_TAG = "datacheck-drop"
PASS_TAG = "datacheck-pass"


@dataclass
class Pass:
    """What one pass over a drop-mode pipeline dropped (and saw, once it completed)."""

    id: str
    dropped_indices: list[int] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    elements: int | None = None  # known once the pass reached its end

    @property
    def complete(self) -> bool:
        return self.elements is not None

    @property
    def kept(self) -> int | None:
        return None if self.elements is None else self.elements - len(self.dropped_indices)

    def to_dict(self, number: int) -> dict[str, Any]:
        return {"pass": number, "complete": self.complete, "elements": self.elements,
                "kept": self.kept, "dropped": len(self.dropped_indices),
                "dropped_indices": sorted(self.dropped_indices)}


def start_log(path: str) -> None:
    """Begin a run's log: an existing file is emptied, so runs are never appended together."""
    if "://" in path:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "w"):
            pass
        return
    with open(path, "w", encoding="utf-8"):
        pass


def _lines(path: str) -> list[str]:
    if "://" in path:
        import tensorflow as tf

        if not tf.io.gfile.exists(path):
            return []
        with tf.io.gfile.GFile(path, "r") as handle:
            return handle.read().splitlines()
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read().splitlines()


def read_passes(path: str, run: str | None = None) -> list[Pass]:
    """Every pass of ``run`` recorded in the log at ``path``, oldest first."""
    passes: dict[str, Pass] = {}
    current: Pass | None = None
    for line in _lines(path):
        parts = line.split("\t")
        if parts[0] in (DROP_TAG, PASS_TAG):
            current = None
            if len(parts) < 5 or (run is not None and parts[1] != run):
                continue
            entry = passes.setdefault(parts[2], Pass(parts[2]))
            if parts[0] == PASS_TAG:
                entry.elements = int(parts[3])
            else:
                current = entry
                if len(parts) >= 6 and parts[5]:
                    entry.dropped_indices += [int(i) for i in parts[5].split(",")]
            continue
        violation = parse_record(line) if current is not None else None
        if violation is not None and current is not None:
            current.violations.append(violation)
    return sorted(passes.values(), key=lambda p: p.id)


def read_drop_log(path: str, run: str | None = None) -> tuple[list[int], list[Violation]]:
    """Dropped element indices (over every pass) and the violations that caused them."""
    passes = read_passes(path, run)
    dropped = sorted(i for p in passes for i in p.dropped_indices)
    return dropped, [v for p in passes for v in p.violations]


def drop_stats(passes: list[Pass]) -> RunStats:
    """Report stats: totals over complete passes, and every pass on its own.

    A pass that never reached its end (an abandoned iterator, ``take``, a warm-up
    read by Keras or a strategy) is listed but not counted as data.
    """
    complete = [p for p in passes if p.complete]
    counted = complete or passes
    dropped = sorted({i for p in counted for i in p.dropped_indices})
    stats: RunStats = {
        "passes": [p.to_dict(n) for n, p in enumerate(passes, 1)],
        "complete_passes": len(complete),
        "partial_passes": len(passes) - len(complete),
        "dropped": sum(len(p.dropped_indices) for p in counted),
        "dropped_indices": dropped,
        "kept": sum(p.kept or 0 for p in complete) if complete else None,
        "elements": sum(p.elements or 0 for p in complete) if complete else None,
    }
    return stats
