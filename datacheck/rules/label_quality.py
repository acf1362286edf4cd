"""Label quality rules: suspected label errors (``label_noise``) and copies whose labels
disagree (``label_conflict``).

The evidence comes from elsewhere (out-of-fold probabilities and cleanlab's
confident learning in ``datacheck.labels``; content and perceptual hashes in
``datacheck.dedup``); this module only decides what is a finding, how severe
it is and what it says.

A class swap (every 7 labelled 1) is one finding, not 180: when most of the
elements that look like class L carry the same other label G, the cause is a
mapping error, and the fix is one line in a class table, not 180 relabels.
When every element of L carries G, no probe trained on these labels can see
L; then a declared class with no elements beside a class about one class too
large that splits into two class-sized clusters is the same swap, found from
the data alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from datacheck.rules.violation import Violation

#: A (given, likely) pair is a class swap when at least this share of the elements that
#: look like the likely class carry that one given label ...
SWAP_SHARE = 0.5
#: ... and at least this many elements do.
SWAP_MIN = 5
#: Default largest share of suspects that is still a warning (every real dataset has a
#: few ambiguous elements: 3 of 1,797 clean digits are flagged by the default probe).
MAX_RATE = 0.01
#: Suspects named in a message / kept in ``extra``.
SHOWN, KEPT = 5, 1000


@dataclass
class Suspect:
    """One element whose given label the evidence disagrees with."""

    index: int
    where: str
    given: str
    likely: str
    confidence: float  # probability of the likely label
    input: str | None = None


def label_noise_violations(label: str, suspects: list[Suspect], disagree: list[Suspect],
                           looks_like: dict[str, int], total: int, method: str,
                           max_rate: float = MAX_RATE,
                           sizes: dict[str, int] | None = None) -> list[Violation]:
    """Class swaps (one error each) and the remaining suspects (one finding, or one per input
    file when they come from several: ``sizes`` counts the elements of each).

    ``suspects`` are what confident learning flagged; ``disagree`` is every
    element whose most likely label is not its given one, and ``looks_like``
    counts per class the elements whose most likely label it is. Swaps are
    judged on ``disagree``, because confident learning cannot flag a class
    that no element carries any more (every 7 labelled 1). The remaining
    suspects are an error when they exceed ``max_rate`` of the elements,
    else a warning.

    >>> label_noise_violations("label", [], [], {}, 10, "probe")
    []
    """
    pairs: dict[tuple[str, str], list[Suspect]] = {}
    for s in disagree:
        pairs.setdefault((s.given, s.likely), []).append(s)
    out: list[Violation] = []
    swapped: set[int] = set()
    reported: set[tuple[str, str]] = set()
    for (given, likely), members in sorted(pairs.items(), key=lambda kv: -len(kv[1])):
        seen = looks_like.get(likely, 0)
        if len(members) < SWAP_MIN or len(members) < SWAP_SHARE * seen:
            continue
        swapped.update(s.index for s in members)
        if (likely, given) in reported:
            continue  # the other direction of a two-way swap: already one finding
        reported.add((given, likely))
        out.append(_swap(label, given, likely, members, seen, pairs, method))
    rest = [s for s in suspects if s.index not in swapped]
    if rest:
        by_input: dict[str | None, list[Suspect]] = {}
        for s in rest:
            by_input.setdefault(s.input, []).append(s)
        if len(by_input) <= 1 or not sizes:
            out.append(_suspects(label, rest, total, method, max_rate))
        else:
            out += [_suspects(label, own, total, method, max_rate, name, sizes.get(name or "", 0),
                              len(rest)) for name, own in by_input.items()]
    return out


def _swap(label: str, given: str, likely: str, members: list[Suspect], seen: int,
          pairs: dict[tuple[str, str], list[Suspect]], method: str) -> Violation:
    back_members = pairs.get((likely, given), [])
    back = len(back_members)
    confusion = {f"{g}->{lk}": len(m) for (g, lk), m in pairs.items() if g in (given, likely)
                 or lk in (given, likely)}
    message = (f"{label}: label_noise: class swap: {len(members)} of the {seen} elements that "
               f"look like class {likely} are labelled {given} ({method}; labelled {given} -> "
               f"likely {likely}: {len(members)}, labelled {likely} -> likely {given}: {back}), "
               f"e.g. {_examples(members)}. Class {likely} looks relabelled as {given}: fix the "
               "class mapping (label table, folder names, index offset) rather than single labels.")
    return Violation(
        "label_noise", label, message, observed=len(members), expected=0,
        where=members[0].where, severity="error",
        extra={"kind": "class_swap", "given": given, "likely": likely, "count": len(members),
               "looks_like": seen, "confusion": confusion, "method": method,
               "indices": [s.index for s in members[:KEPT]],
               "reverse_indices": [s.index for s in back_members[:KEPT]],
               "inputs": _inputs([*members, *back_members])})


def _suspects(label: str, rest: list[Suspect], total: int, method: str, max_rate: float,
              name: str | None = None, size: int = 0, overall: int = 0) -> Violation:
    count = overall or len(rest)
    rate = count / max(total, 1)
    error = rate > max_rate
    verdict = (f"more than the {max_rate:.2%} expected of ambiguous elements" if error else
               f"within the {max_rate:.2%} of ambiguous elements tolerated")
    if name is None:
        what = f"{len(rest)} of {total} elements ({rate:.2%}, {verdict})"
    else:  # one finding per input file, judged on the whole dataset's rate
        what = (f"{len(rest)} of {size} elements of {name} (of {count} suspects in {total} "
                f"elements, {rate:.2%}, {verdict})")
    message = (f"{label}: label_noise: {what} look mislabelled ({method}), e.g. "
               f"{_examples(rest)}. Review these elements (the report lists each with its given "
               "and likely label) and correct or drop the wrong ones before training.")
    return Violation(
        "label_noise", label, message, observed=len(rest), expected=0, where=rest[0].where,
        severity="error" if error else "warning", input=name,
        extra={"kind": "suspects", "method": method, "rate": rate, "max_rate": max_rate,
               "suspects": [{"index": s.index, "where": s.where, "given": s.given,
                             "likely": s.likely, "confidence": round(s.confidence, 4)}
                            for s in rest[:KEPT]],
               "inputs": [] if name is not None else _inputs(rest)})


def _examples(members: Sequence[Suspect]) -> str:
    shown = "; ".join(f"{s.where} labelled {s.given}, likely {s.likely} (p={s.confidence:.2f})"
                      for s in members[:SHOWN])
    return shown + ("; ..." if len(members) > SHOWN else "")


def _inputs(members: Sequence[Suspect]) -> list[str]:
    return list(dict.fromkeys(s.input for s in members if s.input is not None))[:KEPT]


#: A class with no elements was merged into class G when G holds at least this many times
#: the median class size ...
MERGE_SIZE_RATIO = 1.5
#: ... and splits (2-means) into two clusters of at least this share of the median size each
#: (on digits with every 7 labelled 1: 179 and 182 elements, each 99-100% one digit).
MERGE_PART_SHARE = 0.5


@dataclass
class MergedClass:
    """Evidence that declared class ``likely`` (no elements) was relabelled as ``given``:
    the two clusters (element indices) that ``given``'s elements split into."""

    given: str
    likely: str
    clusters: tuple[list[int], list[int]]
    where: list[str]
    median: float
    inputs: list[str]


def merge_candidates(sizes: dict[str, int], empty: Sequence[str]) -> list[tuple[str, str]]:
    """(oversized class, empty class) pairs worth splitting, largest class first.

    A declared class without elements is only half the evidence; the class that
    received its elements must be about one class too large.

    >>> merge_candidates({"0": 180, "1": 361, "2": 177}, ["7"])
    [('1', '7')]
    """
    held = sorted(v for v in sizes.values() if v > 0)
    if not empty or len(held) < 2:
        return []
    median = float(np.median(held))
    big = sorted((c for c, n in sizes.items() if n >= MERGE_SIZE_RATIO * median),
                 key=lambda c: -sizes[c])
    return list(zip(big, empty, strict=False))


def is_merged(parts: tuple[int, int], median: float) -> bool:
    """Both clusters are about a class in size (not one class and a few outliers)."""
    return min(parts) >= MERGE_PART_SHARE * median


def merged_class_violations(label: str, merged: list[MergedClass],
                            method: str) -> list[Violation]:
    """One class swap per class that absorbed a declared class with no elements.

    The data alone cannot say which of the two clusters is the relabelled
    class (each matches no other class), so both are named and kept.

    >>> merged_class_violations("label", [], "2-means")
    []
    """
    out = []
    for m in merged:
        a, b = m.clusters
        total = len(a) + len(b)
        shown = "; ".join(f"cluster {k + 1}: " + ", ".join(m.where[i] for i in c[:3])
                          for k, c in enumerate(m.clusters))
        message = (f"{label}: label_noise: class swap: class {m.likely} has no elements while "
                   f"class {m.given} holds {total}, {total / max(m.median, 1):.1f}x the median "
                   f"class size ({m.median:g}), in two clusters of {len(a)} and {len(b)} "
                   f"elements ({method}); one of them is probably class {m.likely} labelled "
                   f"{m.given} (e.g. {shown}). Look at a few of each, then fix the class mapping "
                   "(label table, folder names, index offset) rather than single labels.")
        out.append(Violation(
            "label_noise", label, message, observed=min(len(a), len(b)), expected=0,
            where=m.where[a[0]], severity="error",
            extra={"kind": "class_swap", "given": m.given, "likely": m.likely,
                   "count": min(len(a), len(b)), "looks_like": 0, "method": method,
                   "confusion": {f"{m.given} cluster sizes": [len(a), len(b)],
                                 f"{m.likely} labelled": 0, "median class size": m.median},
                   "clusters": [a[:KEPT], b[:KEPT]], "indices": (a + b)[:KEPT],
                   "reverse_indices": [], "inputs": m.inputs[:KEPT]}))
    return out


@dataclass
class ConflictGroup:
    """Copies (exact) or near copies of one input that carry different labels."""

    members: list[tuple[str, str]]  # (where, label)
    exact: bool
    inputs: list[str]


def label_conflict_violations(feature: str, groups: list[ConflictGroup],
                              near_what: str = "near copies") -> list[Violation]:
    """One finding per kind: exact copies with different labels (error), near ones (warning).

    >>> label_conflict_violations("image", [])
    []
    """
    out: list[Violation] = []
    for exact in (True, False):
        chosen = [g for g in groups if g.exact == exact]
        if not chosen:
            continue
        what = "exact copies" if exact else near_what
        elements = sum(len(g.members) for g in chosen)
        shown = "; ".join((" = " if exact else " ~ ").join(f"{w} (label {lab})"
                                                          for w, lab in g.members[:3])
                          for g in chosen[:3])
        message = (f"{feature}: label_conflict: {len(chosen)} groups of {what} carry different "
                   f"labels ({elements} elements), e.g. {shown}. The same input cannot be two "
                   "classes: decide which label is right, then relabel or drop the others.")
        out.append(Violation(
            "label_conflict", feature, message, observed=len(chosen), expected=0,
            where=chosen[0].members[0][0], severity="error" if exact else "warning",
            extra={"kind": "exact" if exact else "near",
                   "groups": [[{"where": w, "label": lab} for w, lab in g.members[:10]]
                              for g in chosen[:KEPT]],
                   "inputs": list(dict.fromkeys(i for g in chosen for i in g.inputs))[:KEPT]}))
    return out


def class_counts(labels: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    """Elements per class name, for integer class indices ``labels``."""
    counts = np.bincount(labels, minlength=len(classes))
    return {str(c): int(k) for c, k in zip(classes, counts, strict=False)}
