"""Label errors, label conflicts and copies across splits, planted in scikit-learn's digits.

Variants of the 1,797 real 8x8 digits (values scaled to [0, 1], shuffled,
split 80/20 into train and test), one planted fault each:

- 5% flipped labels (each to another random class) -> ``label_noise`` suspects;
- a relabelled class (every 7 labelled 1) -> one ``label_noise`` class swap, scored
  once from the data alone (class 7 is empty and class 1 splits into two class-sized
  clusters; a probe on these labels cannot see a class that no label names any more)
  and once with predictions of a model trained on other, clean digits;
- exact copies of train elements in test (5% of test) -> ``leakage`` (exact);
- near copies: the same with Gaussian noise sigma=0.03, clipped to [0, 1] -> ``leakage``
  (near);
- exact copies inside the data with a different label -> ``label_conflict``.

For each fault: found/planted, false positives of the same check on the clean
variant, and seconds. Targets (issue 17): label-noise recall >= 0.8 at
precision >= 0.7; near copies >= 95% found with no false cross-split pair on
clean digits. ``--quick`` runs on 600 digits (smoke test; targets are not judged).

    python benchmarks/bench_labels.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import datacheck as dc
from datacheck.dedup import find_duplicates


def digits(n: int | None) -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))[:n]
    return (bunch.images[order, ..., None] / 16.0).astype("float32"), bunch.target[order]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def suspects(report: dc.Report) -> set[int]:
    return {s["index"] for v in report.violations if v.code == "label_noise"
            for s in v.extra.get("suspects", [])}


def swaps(report: dc.Report) -> list[tuple[str, str]]:
    return [(v.extra["given"], v.extra["likely"]) for v in report.violations
            if v.extra.get("kind") == "class_swap"]


def linked(report: dc.Report, kind: str) -> set[str]:
    return {m for v in report.violations if v.code == "leakage" and v.extra["kind"] == kind
            for g in v.extra["groups"] for m in g if m.startswith("test:")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 digits (smoke test)")
    args = parser.parse_args()
    x, y = digits(600 if args.quick else None)
    rng = np.random.default_rng(1)
    rows: list[tuple[str, str, int, float]] = []

    clean, t_clean = timed(lambda: dc.find_label_issues((x, y)))
    clean_suspects = len(suspects(clean))
    noisy = y.copy()
    flipped = rng.choice(len(y), int(0.05 * len(y)), replace=False)
    noisy[flipped] = (noisy[flipped] + rng.integers(1, 10, len(flipped))) % 10
    report, seconds = timed(lambda: dc.find_label_issues((x, noisy)))
    found = suspects(report)
    hits = len(found & set(flipped.tolist()))
    recall, precision = hits / len(flipped), hits / max(len(found), 1)
    rows.append(("5% flipped labels", f"{hits}/{len(flipped)} (precision {precision:.2f})",
                 clean_suspects, seconds))

    relabelled = y.copy()
    relabelled[y == 7] = 1
    report, seconds = timed(lambda: dc.find_label_issues((x, relabelled)))
    rows.append(("7 -> 1, probe", f"{int(('1', '7') in swaps(report))}/1",
                 len(swaps(clean)), seconds))
    ref, target = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    flat = x.reshape(len(x), -1)
    model = LogisticRegression(max_iter=1000).fit(flat[ref], y[ref])
    clean_swaps = len(swaps(dc.find_label_issues((x[target], y[target]),
                                                 predictions=model.predict_proba(flat[target]))))
    report, seconds = timed(lambda: dc.find_label_issues(
        (x[target], relabelled[target]), predictions=model.predict_proba(flat[target])))
    rows.append(("7 -> 1, model predictions", f"{int(('1', '7') in swaps(report))}/1",
                 clean_swaps, seconds))

    cut = int(0.8 * len(y))
    k = max(1, int(0.05 * (len(y) - cut)))
    base, t_base = timed(lambda: find_duplicates((x[:cut], y[:cut]), (x[cut:], y[cut:]),
                                                 names=["train", "test"]))
    planted = {f"test: <array> element {i}" for i in range(k)}
    near_ok = True
    for kind, noise in (("exact", 0.0), ("near", 0.03)):
        test, labels = x[cut:].copy(), y[cut:].copy()
        src = rng.choice(cut, k, replace=False)
        test[:k] = x[src] if not noise else np.clip(x[src] + rng.normal(0, noise, x[src].shape),
                                                    0, 1)
        labels[:k] = y[src]
        report, seconds = timed(lambda t=test, lab=labels: find_duplicates(
            (x[:cut], y[:cut]), (t, lab), names=["train", "test"]))
        got = linked(report, kind)
        false_clean = len(linked(base, kind))
        rows.append((f"{kind} copies across splits" + (" (sigma 0.03)" if noise else ""),
                     f"{len(got & planted)}/{k} (+{len(got - planted)} false)", false_clean,
                     seconds))
        if kind == "near":
            near_ok = len(got & planted) >= 0.95 * k and false_clean == 0 and got <= planted

    conflicted, labels = x.copy(), y.copy()
    m = max(1, len(y) // 100)
    conflicted[-m:], labels[-m:] = x[:m], (y[:m] + 1) % 10
    report, seconds = timed(lambda: dc.find_label_issues((conflicted, labels)))
    groups = [v.observed for v in report.violations if v.code == "label_conflict"
              and v.extra["kind"] == "exact"]
    clean_conflicts = sum(v.observed for v in clean.violations if v.code == "label_conflict")
    rows.append(("copies with another label", f"{sum(groups)}/{m}", clean_conflicts, seconds))

    print(f"digits: {len(y)} elements{' (quick sizes)' if args.quick else ''}; clean label "
          f"check {t_clean:.2f} s, clean dedup {t_base:.2f} s")
    print(f"{'fault':<40} {'found/planted':<28} {'false pos. (clean)':>18} {'seconds':>8}")
    for name, result, false_pos, seconds in rows:
        print(f"{name:<40} {result:<28} {false_pos:>18} {seconds:>8.2f}")
    if args.quick:
        print("targets: not judged at quick sizes")
        return
    noise_ok = recall >= 0.8 and precision >= 0.7
    print(f"label noise: recall {recall:.2f} at precision {precision:.2f} (target recall >= 0.8 "
          f"at precision >= 0.7): {'met' if noise_ok else 'MISSED'}")
    print("near copies: >= 95% found, no false cross-split pair on clean digits: "
          f"{'met' if near_ok else 'MISSED'}")


if __name__ == "__main__":
    main()
