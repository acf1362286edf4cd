"""``find_label_issues``: label errors (``label_noise``) and copies with different labels
(``label_conflict``), as a Report.

Probabilities come from an out-of-fold probe, a Keras model or saved
predictions (``datacheck.labels.probs``); which labels are suspect is decided
by cleanlab's confident learning (``cleanlab.filter.find_label_issues``),
not re-implemented here. Copies come from the duplicate index
(``datacheck.dedup``); what counts as a finding lives in
``datacheck.rules.label_quality``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.dedup.index import Group, exact_groups, near_groups
from datacheck.errors import DatacheckError, DataError
from datacheck.labels.data import LabelledData, gather
from datacheck.labels.probs import (
    FOLDS,
    load_predictions,
    model_probabilities,
    probe_features,
    probe_probabilities,
)
from datacheck.report.report import Report
from datacheck.rules.label_quality import (
    MAX_RATE,
    ConflictGroup,
    MergedClass,
    Suspect,
    label_conflict_violations,
    label_noise_violations,
    merged_class_violations,
)
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema


def find_label_issues(data: Any, schema: str | Path | dict[str, Any] | Schema | None = None, *,
                      model: Any = None, predictions: Any = None, embeddings: Any = None,
                      folds: int = FOLDS, max_rate: float = MAX_RATE,
                      conflicts: bool = True) -> Report:
    """Suspected label errors and duplicates whose labels disagree.

    ``data`` is anything ``dc.check`` reads with features and labels. The
    probabilities come from ``predictions`` (an (n, classes) array or a
    ``.npy`` path, in data order), else from ``model`` (a Keras model or a
    ``.keras`` path), else from an out-of-fold logistic-regression probe on
    the pixels (or on ``embeddings``, an (n, d) array). A model that trained
    on these very labels has learned their errors: prefer out-of-fold
    predictions. Suspects beyond ``max_rate`` of the elements, every class
    swap and every exact copy with two labels are errors.

    >>> import datacheck as dc
    >>> dc.find_label_issues((x, y)).ok  # doctest: +SKIP
    True
    """
    if folds < 2:
        raise DatacheckError(f"folds must be >= 2, got {folds}")
    if not 0 <= max_rate <= 1:
        raise DatacheckError(f"max_rate must be within [0, 1], got {max_rate}")
    resolved = None if schema is None else load_schema(schema)
    found = gather(data, resolved)
    probs, method = _probabilities(found, model, predictions, embeddings, folds)
    merged: list[MergedClass] = []
    if model is None and predictions is None:
        # A probe on these labels cannot see a class whose every element was relabelled.
        from datacheck.labels.merged import merged_classes

        features = (np.asarray(embeddings, dtype=np.float64) if embeddings is not None
                    else probe_features(found.x, found.layout))
        merged = merged_classes(found, features)
    report = Report(schema=resolved.name if resolved is not None else None, kind="labels")
    for problem in found.problems.values():
        report.add(problem)
    suspects = _suspects(found, probs)
    likely = probs.argmax(axis=1)
    disagree = [_suspect(found, probs, int(i), int(likely[i]))
                for i in np.flatnonzero(likely != found.labels)]
    looks_like = np.bincount(likely, minlength=probs.shape[1])
    report.extend(label_noise_violations(
        found.label, suspects, disagree,
        {str(c): int(k) for c, k in zip(found.classes, looks_like, strict=False)},
        len(found.labels), method, max_rate, sizes=dict(Counter(found.inputs))))
    what = "embeddings" if embeddings is not None else "pixels"
    report.extend(merged_class_violations(found.label, merged, f"2-means on {what}"))
    groups: list[ConflictGroup] = []
    if conflicts:
        groups = _conflicts(found)
        report.extend(label_conflict_violations(found.feature, groups))
    _account(report, found)
    report.stats["labels"] = {
        "elements": len(found.labels), "classes": len(found.classes), "method": method,
        "suspects": len(suspects), "conflict_groups": len(groups),
        "merged_classes": [[m.given, m.likely] for m in merged],
        "given_counts": {c: int(k) for c, k in zip(found.classes, np.bincount(
            found.labels, minlength=len(found.classes)), strict=False)}}
    return report


def _probabilities(found: LabelledData, model: Any, predictions: Any, embeddings: Any,
                   folds: int) -> tuple[np.ndarray, str]:
    n, k = len(found.labels), len(found.classes)
    if sum(v is not None for v in (model, predictions, embeddings)) > 1:
        raise DatacheckError("pass one of predictions, model or embeddings, not several")
    if predictions is not None:
        if isinstance(predictions, (str, Path)):
            return load_predictions(predictions, n, k), f"predictions {Path(predictions).name}"
        from datacheck.labels.probs import to_probabilities

        return to_probabilities(predictions, n, k, "predictions"), "given predictions"
    if model is not None:
        name = Path(model).name if isinstance(model, (str, Path)) else "the model"
        return model_probabilities(model, found.x, k), f"predictions of {name}"
    if embeddings is not None:
        features = np.asarray(embeddings, dtype=np.float64)
        if features.ndim != 2 or len(features) != n:
            raise DataError(f"embeddings of shape {features.shape} for {n} elements; expected "
                            f"({n}, dimensions) in data order.")
        what = "embeddings"
    else:
        features, what = probe_features(found.x, found.layout), "pixels"
    return (probe_probabilities(features, found.labels, k, folds),
            f"out-of-fold logistic regression on {what}, {folds} folds")


def _suspects(found: LabelledData, probs: np.ndarray) -> list[Suspect]:
    try:
        from cleanlab.filter import find_label_issues as cleanlab_issues
    except ImportError:
        raise DatacheckError("label checks need cleanlab: pip install 'datacheck[labels]'") \
            from None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about classes with few elements
        ranked = cleanlab_issues(found.labels, probs, n_jobs=1,
                                 return_indices_ranked_by="self_confidence")
    likely = probs.argmax(axis=1)
    out = []
    for i in np.asarray(ranked, dtype=np.int64).tolist():
        guess = int(likely[i])
        if guess == int(found.labels[i]):
            # cleanlab may flag an element whose argmax is its own label (low margin): the
            # likely label is then the best other class.
            row = probs[i].copy()
            row[guess] = -1.0
            guess = int(row.argmax())
        out.append(_suspect(found, probs, i, guess))
    return out


def _suspect(found: LabelledData, probs: np.ndarray, i: int, guess: int) -> Suspect:
    return Suspect(i, found.where[i], found.classes[found.labels[i]], found.classes[guess],
                   float(probs[i, guess]), found.inputs[i])


def _conflicts(found: LabelledData) -> list[ConflictGroup]:
    index = found.index
    groups: list[Group] = exact_groups([index]) + near_groups([index])
    out = []
    for group in groups:
        members = [(index.where[i], index.labels[i] or "") for _, i in group.members]
        if len({lab for _, lab in members}) > 1:
            inputs = list(dict.fromkeys(found.inputs[i] for _, i in group.members))
            out.append(ConflictGroup(members, group.exact, inputs))
    return out


def _account(report: Report, found: LabelledData) -> None:
    """Every input once: unreadable as the reader said, violating when an error names it."""
    for name, status in found.read.items():
        if status != "ok":
            report.mark_input(name, "unreadable")
    bad: set[str] = set()
    for v in report.errors:
        bad.update(str(i) for i in v.extra.get("inputs", []) or [])
        if v.input is not None:
            bad.add(v.input)
    for name in dict.fromkeys(found.inputs):
        report.mark_input(name, "violating" if name in bad else "ok")
