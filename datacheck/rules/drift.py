"""drift: compare two profiles (intensities, class frequencies, dtypes, shapes, headers)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.rules.violation import Violation
from datacheck.schema.drift import DriftConfig
from datacheck.summary.distance import class_distance, js_divergence, linf, normalize
from datacheck.summary.histogram import ChannelHistogram, align

if TYPE_CHECKING:
    from datacheck.drift.profile import Entry, Profile

FIX = ("Check how {b} was produced (scaling, normalization, resizing, scanner or protocol), or "
       "raise the threshold in the schema's drift section")


def compare_profiles(a: Profile, b: Profile, config: DriftConfig | None = None,
                     names: tuple[str, str] = ("A", "B")) -> tuple[list[Violation], dict[str, Any]]:
    """Drift violations between ``a`` and ``b`` and the distances behind them, per name.

    >>> v, d = compare_profiles(pa, pb)  # doctest: +SKIP
    """
    cfg = config or DriftConfig()
    na, nb = names
    out: list[Violation] = []
    details: dict[str, Any] = {}
    for key in list(a.entries) + [k for k in b.entries if k not in a.entries]:
        ea, eb = a.entries.get(key), b.entries.get(key)
        if ea is None or eb is None:
            has, lacks = (na, nb) if eb is None else (nb, na)
            out.append(Violation(
                "missing_feature", key,
                f"{key}: missing_feature: {lacks} has no {key!r} but {has} has it. Both datasets "
                "must carry the same features and labels (check the loader of "
                f"{lacks}).", observed=lacks, expected=key, where=lacks))
            continue
        info: dict[str, Any] = {"role": ea.role}
        out += _structure(key, ea, eb, na, nb)
        if ea.role == "label" and ea.classes is not None and eb.classes is not None:
            out += _labels(key, ea, eb, cfg, na, nb, info)
        elif ea.histogram is not None and eb.histogram is not None:
            out += _intensity(key, ea, eb, cfg, na, nb, info)
        out += _headers(key, ea, eb, cfg, na, nb)
        details[key] = info
    return out, details


def _dtypes(entry: Entry) -> list[str]:
    return sorted(entry.summary.dtypes)


def _structure(key: str, ea: Entry, eb: Entry, na: str, nb: str) -> list[Violation]:
    out = []
    da, db = set(_dtypes(ea)), set(_dtypes(eb))
    if da and db and not (da <= db or db <= da):
        out.append(Violation(
            "drift", key,
            f"{key}: drift: dtype {'/'.join(_dtypes(ea))} in {na} but {'/'.join(_dtypes(eb))} "
            f"in {nb}. Cast {nb} the way {na} was cast (training/serving skew starts here).",
            observed=_dtypes(eb), expected=_dtypes(ea), where=nb))
    elif da and db and db - da:
        # Files of mixed storage types (int16 and float32 NIfTI) are one dataset when the
        # loader casts them to one training dtype; only a type A never had is worth a look.
        out.append(Violation(
            "drift", key,
            f"{key}: drift: dtype {'/'.join(sorted(db - da))} occurs in {nb} but never in {na} "
            f"(which has {'/'.join(_dtypes(ea))}). Check that both load to the same training "
            "dtype and scale.", observed=_dtypes(eb), expected=_dtypes(ea), where=nb,
            severity="warning"))
    sa, sb = set(ea.summary.shapes), set(eb.summary.shapes)
    if len(sa) == 1 and sa != sb:
        shown = ", ".join(_shape(s) for s in sorted(sb)[:3])
        out.append(Violation(
            "drift", key,
            f"{key}: drift: every element of {na} has shape {_shape(next(iter(sa)))} but {nb} "
            f"has {shown}{' ...' if len(sb) > 3 else ''}. Resize/crop {nb} the same way.",
            observed=[_shape(s) for s in sorted(sb)[:10]], expected=_shape(next(iter(sa))),
            where=nb))
    return out


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def histogram_distances(ha: ChannelHistogram, hb: ChannelHistogram,
                        bins: int) -> tuple[np.ndarray, np.ndarray, ChannelHistogram,
                                            ChannelHistogram]:
    """Per-channel (js, linf) on a common grid of at most ``bins`` bins."""
    if ha.channels != hb.channels:
        ha, hb = ha.pooled(), hb.pooled()
    a, b = align(ha, hb, bins)
    return js_divergence(a.counts, b.counts), linf(a.counts, b.counts), a, b


def _intensity(key: str, ea: Entry, eb: Entry, cfg: DriftConfig, na: str, nb: str,
               info: dict[str, Any]) -> list[Violation]:
    assert ea.histogram is not None and eb.histogram is not None
    if not ea.histogram.total or not eb.histogram.total:
        return []
    js, lf, a, b = histogram_distances(ea.histogram, eb.histogram, cfg.bins)
    info.update({"js_divergence": js.tolist(), "linf": lf.tolist(),
                 "edges": a.edges().tolist(), "a": normalize(a.counts).tolist(),
                 "b": normalize(b.counts).tolist()})
    js_max, linf_max = cfg.thresholds(key)
    over = []
    if js_max is not None and float(js.max()) > js_max:
        over.append(("Jensen-Shannon divergence", float(js.max()), js_max, int(js.argmax())))
    if linf_max is not None and float(lf.max()) > linf_max:
        over.append(("L-infinity distance", float(lf.max()), linf_max, int(lf.argmax())))
    out = []
    if ea.histogram.channels != eb.histogram.channels:
        out.append(Violation(
            "drift", key, f"{key}: drift: {ea.histogram.channels} channels in {na} but "
            f"{eb.histogram.channels} in {nb}; histograms were compared with channels pooled. "
            f"Convert {nb} to the channel count of {na} (grayscale vs RGB?).",
            observed=eb.histogram.channels, expected=ea.histogram.channels, where=nb))
    if over:
        what, value, limit, channel = over[0]
        sa, sb = ea.summary, eb.summary
        chan = f" (channel {channel})" if a.channels > 1 else ""
        out.append(Violation(
            "drift", key,
            f"{key}: drift: intensity distribution of {nb} differs from {na}{chan}: {what} "
            f"{value:.3g} > {limit:g} (JS {float(js.max()):.3g}, L-inf {float(lf.max()):.3g}); "
            f"mean {sa.mean:.4g} -> {sb.mean:.4g}, std {sa.std:.4g} -> {sb.std:.4g}, range "
            f"[{sa.min:g}, {sa.max:g}] -> [{sb.min:g}, {sb.max:g}]. {FIX.format(b=nb)} "
            f"(drift.features.{key}).",
            observed={"js_divergence": float(js.max()), "linf": float(lf.max())},
            expected={"js_divergence": js_max, "linf": linf_max}, where=nb,
            extra={"channel": channel}))
    return out


def _labels(key: str, ea: Entry, eb: Entry, cfg: DriftConfig, na: str, nb: str,
            info: dict[str, Any]) -> list[Violation]:
    assert ea.classes is not None and eb.classes is not None
    dist = class_distance(ea.classes, eb.classes)
    info.update(dist)
    js_max, linf_max = cfg.thresholds(key, label=True)
    out = []
    if dist["only_b"]:
        shown = ", ".join(dist["only_b"][:10]) + (" ..." if len(dist["only_b"]) > 10 else "")
        out.append(Violation(
            "drift", key,
            f"{key}: drift: {len(dist['only_b'])} classes occur in {nb} but never in {na} "
            f"({shown}). The model never saw them: fix the label mapping or add them to {na}.",
            observed=dist["only_b"][:100], expected="classes of " + na, where=nb))
    over = []
    if linf_max is not None and dist["linf"] > linf_max:
        over.append(("largest class-fraction change", dist["linf"], linf_max))
    if js_max is not None and dist["js_divergence"] > js_max:
        over.append(("Jensen-Shannon divergence", dist["js_divergence"], js_max))
    if over:
        what, value, limit = over[0]
        n_a, n_b = dist["counts"]
        # A shift that a chi-square test cannot tell from chance (few scans) is a warning.
        chance = dist["p_value"] >= cfg.label_alpha
        test = (f" With {n_a} and {n_b} labels it may be chance (chi-square p = "
                f"{dist['p_value']:.2g} >= drift.label_alpha {cfg.label_alpha:g})." if chance
                else f" Chi-square p = {dist['p_value']:.2g} with {n_a} and {n_b} labels.")
        out.append(Violation(
            "drift", key,
            f"{key}: drift: class frequencies shifted from {na} to {nb}: {what} {value:.3g} > "
            f"{limit:g}; class {dist['worst_class']} is {dist['fraction_a']:.1%} of {na} but "
            f"{dist['fraction_b']:.1%} of {nb}.{test} Stratify the split by label (e.g. "
            "train_test_split(..., stratify=y)) or raise drift.label_linf.",
            observed={"linf": dist["linf"], "js_divergence": dist["js_divergence"],
                      "p_value": dist["p_value"]},
            expected={"linf": linf_max, "js_divergence": js_max}, where=nb,
            severity="warning" if chance else "error", extra={"class": dist["worst_class"]}))
    return out


def _headers(key: str, ea: Entry, eb: Entry, cfg: DriftConfig, na: str,
             nb: str) -> list[Violation]:
    out = []
    oa, ob = ea.headers.get("orientation"), eb.headers.get("orientation")
    if cfg.orientation and oa and ob and set(ob) - set(oa):
        new = sorted(set(ob) - set(oa))
        out.append(Violation(
            "drift", key,
            f"{key}: drift: orientation {', '.join(new)} in {nb} ({sum(ob[o] for o in new)} "
            f"files) never occurs in {na} (which has {_top(oa)}). Reorient {nb} to {_top(oa)} "
            "(nibabel.as_closest_canonical, or reorient with the same tool as " + na + ").",
            observed=new, expected=sorted(oa), where=nb))
    spa, spb = ea.headers.get("spacing"), eb.headers.get("spacing")
    if spa and spb:
        za, zb = _spacing(_top(spa)), _spacing(_top(spb))
        if za and zb and (len(za) != len(zb) or
                          max(abs(x - y) for x, y in zip(za, zb, strict=False)) >
                          cfg.spacing_tolerance):
            out.append(Violation(
                "drift", key,
                f"{key}: drift: typical voxel spacing {_top(spb)} mm in {nb} but {_top(spa)} mm "
                f"in {na} (tolerance {cfg.spacing_tolerance:g} mm). Resample {nb} to the "
                f"spacing of {na} before training/inference.",
                observed=_top(spb), expected=_top(spa), where=nb))
    return out


def _top(counts: Counter[str]) -> str:
    return counts.most_common(1)[0][0]


def _spacing(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split("x")]
    except ValueError:
        return []
