"""Per-image quality rules: dark, bright, low_information, blurry, saturated.

They run only for features with a ``quality:`` section. Verdicts are per
element from statistics the view computes once per batch (numpy or TF, see
``backends/*/quality.py``), so a dark image inside a good batch is found by
its index and drop mode removes exactly it during training. ``blurry`` is
relative to the dataset median sharpness, so ``check()`` judges it once the
whole dataset was seen (:func:`blurry_violations`); per batch and in graph it
is judged only against the absolute ``quality.blurry_below``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from datacheck.rules.base import ELEMENTS, WHERE, Check, Finding, elements_text, esc, fmt_num
from datacheck.rules.views import TensorView
from datacheck.rules.violation import Violation
from datacheck.schema.layout import channel_axis
from datacheck.schema.model import Feature

#: Fewer judged images than this give no meaningful dataset median: blurry is not judged.
MIN_IMAGES_FOR_MEDIAN = 8

_DROP = "or drop them (validate(on_error='drop'))"


def _geometry(feature: Feature, shape: tuple[Any, ...]) -> tuple[bool, int | None]:
    """(whether the element is a 2D image, its channel axis within the element)."""
    rank = len(shape) - 1
    if rank not in (2, 3):
        return False, None
    if feature.layout is not None:
        return len(feature.layout) == rank, channel_axis(feature.layout)
    return True, (2 if rank == 3 else None)


def _stats(feature: Feature, view: TensorView) -> dict[str, Any] | None:
    spec, bounds = feature.quality, feature.value_range()
    if spec is None or bounds is None or view.is_string:
        return None
    image, axis = _geometry(feature, tuple(view.shape))
    if not image:
        return None
    stats: dict[str, Any] | None = view.image_stats(bounds[0], bounds[1], axis,
                                                    spec.min_contrast)
    return stats


@dataclass(frozen=True)
class _Rule:
    code: str
    stat: str
    below: bool  # True: an element is bad when its statistic is below the threshold
    what: str
    observed: str
    fix: str


_RULES = (
    _Rule("dark", "p95", True, "too dark: its brightest 5% of pixels sit below {thr} of the "
          "range", "95th percentile {value}",
          "Underexposed, or scaled twice (divided by 255 again?): fix the capture or loader, "),
    _Rule("bright", "p05", False, "washed out: even its darkest 5% of pixels sit above {thr} of "
          "the range", "5th percentile {value}",
          "Overexposed or filled with white: fix the capture or loader, "),
    _Rule("low_information", "entropy", True, "nearly blank: its intensity histogram holds "
          "under {thr} bits of entropy", "entropy {value} bits",
          "A blank, padded or single-colour image (a failed decode or crop?): fix the source, "),
    _Rule("blurry", "sharpness", True, "blurry: its sharpness (Laplacian variance over image "
          "variance) is below {thr}", "sharpness {value}",
          "Out of focus, motion-blurred or upscaled from a small image: re-capture, "),
    _Rule("saturated", "saturated", False, "saturated: more than {thr} of its values sit at "
          "the top of the range", "fraction clipped {value}",
          "Clipped highlights or a gain/scaling overflow: fix the exposure or the scaling, "),
)


def _threshold(feature: Feature, rule: _Rule) -> float | None:
    spec = feature.quality
    assert spec is not None
    if rule.code == "blurry":
        return spec.blurry_below  # the dataset-relative threshold is judged after the scan
    value: float | None = getattr(spec, rule.code)
    return value


def quality_checks(name: str, feature: Feature, view: TensorView) -> list[Check]:
    """One per-element check over the quality rules the feature's ``quality:`` switches on."""
    stats = _stats(feature, view)
    if stats is None:
        return []
    assert feature.quality is not None
    active = [(r, t) for r in _RULES if (t := _threshold(feature, r)) is not None]
    if not active:
        return []
    good = {r.code: ~(stats[r.stat] < t) if r.below else ~(stats[r.stat] > t)
            for r, t in active}
    ok_mask = good[active[0][0].code]
    for r, _ in active[1:]:
        ok_mask = ok_mask & good[r.code]

    def diagnose() -> list[Finding]:
        findings = []
        for rule, thr in active:
            bad = ~good[rule.code]
            worst = view.masked_min(stats[rule.stat], bad) if rule.below else \
                view.masked_max(stats[rule.stat], bad)
            hint = f"lower quality.{rule.code}" if rule.below else f"raise quality.{rule.code}"
            if rule.code == "blurry":
                hint = "lower quality.blurry_below"
            findings.append(Finding(
                rule.code, ~view.every(good[rule.code]),
                esc(f"{name}: {rule.code}: an image is {rule.what.format(thr=fmt_num(thr))} in ")
                + WHERE + esc(f". {rule.fix}{_DROP}; {hint} if such images are expected.")
                + ELEMENTS, values={"value": worst}, observed=rule.observed,
                expected=f"{'>=' if rule.below else '<='} {fmt_num(thr)}",
                element_ok=good[rule.code]))
        return findings

    return [Check(name, view.every(ok_mask), diagnose, element_ok=lambda: ok_mask)]


def sharpness(feature: Feature, view: TensorView) -> np.ndarray | None:
    """Per-element sharpness of a numpy batch when dataset-relative ``blurry`` is on."""
    if feature.quality is None or feature.quality.blurry is None:
        return None
    stats = _stats(feature, view)
    return None if stats is None else np.asarray(stats["sharpness"], dtype=np.float64)


@dataclass(frozen=True)
class SharpnessRecord:
    """Sharpness of one batch's elements, with where they came from."""

    input: str | None
    source: str | None
    batch: int
    offset: int
    values: np.ndarray
    batched: bool = True


def blurry_violations(name: str, feature: Feature,
                      records: list[SharpnessRecord]) -> list[Violation]:
    """``blurry`` over the whole dataset: sharpness below ``quality.blurry`` x the median.

    One violation per input that holds blurry images, with their count and
    first indices; nothing when fewer than MIN_IMAGES_FOR_MEDIAN images were judged.
    """
    spec = feature.quality
    if spec is None or spec.blurry is None or not records:
        return []
    values = np.concatenate([r.values for r in records])
    judged = values[np.isfinite(values)]
    if judged.size < MIN_IMAGES_FOR_MEDIAN:
        return []
    median = float(np.median(judged))
    limit = spec.blurry * median
    by_input: dict[str | None, list[tuple[SharpnessRecord, np.ndarray]]] = {}
    for record in records:
        bad = np.flatnonzero(record.values < limit)
        if bad.size:
            by_input.setdefault(record.input, []).append((record, bad))
    out = []
    for owner, hits in by_input.items():
        first, bad = hits[0]
        index = first.offset + int(bad[0])
        if first.batched:
            place = f"batch {first.batch}, element {int(bad[0])}"
            place += f" (index {index})" if index else ""
        else:
            place = f"element {first.batch}"
        where = f"{first.source}, {place}" if first.source else place
        count = sum(int(b.size) for _, b in hits)
        total = sum(int(r.values.size) for r in records if r.input == owner)
        indices = [r.offset + int(i) for r, b in hits for i in b][:10]
        worst = min(float(r.values[b].min()) for r, b in hits)
        out.append(Violation(
            "blurry", name,
            f"{name}: blurry: an image's sharpness {worst:.3g} (Laplacian variance over image "
            f"variance) is below {fmt_num(spec.blurry)} x the dataset median {median:.3g} in "
            f"{where}. Out of focus, motion-blurred or upscaled from a small image: re-capture, "
            f"{_DROP}; lower quality.blurry if such images are expected."
            + elements_text(count, total, indices),
            observed=f"sharpness {worst:.3g}", expected=f">= {limit:.3g}", where=where,
            input=owner, extra={"elements": count, "indices": indices, "median": median}))
    return out
