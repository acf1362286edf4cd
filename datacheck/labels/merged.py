"""Find a class that absorbed another one (every 7 labelled 1) from the data alone.

A probe trained on the given labels learns the wrong mapping as if it were
right, so its predictions cannot reveal a class that no element carries any
more. The evidence here does not come from labels: a declared class with no
elements (``rules.label_quality.merge_candidates`` picks the class that is
about one class too large) and a 2-means split of that class's features into
two clusters; ``rules.label_quality.is_merged`` decides whether both clusters
are class-sized. On scikit-learn's digits with every 7 labelled 1 the two
clusters held 179 sevens and 182 ones, with no element on the wrong side.
"""

from __future__ import annotations

import numpy as np

from datacheck.labels.data import LabelledData
from datacheck.rules.label_quality import MergedClass, is_merged, merge_candidates


def merged_classes(found: LabelledData, features: np.ndarray,
                   seed: int = 0) -> list[MergedClass]:
    """The classes that look like two classes merged into one, with their two clusters."""
    counts = np.bincount(found.labels, minlength=len(found.classes))
    sizes = {c: int(k) for c, k in zip(found.classes, counts, strict=False)}
    empty = [c for c in found.classes if sizes[c] == 0]
    pairs = merge_candidates(sizes, empty)
    if not pairs:
        return []
    from sklearn.cluster import KMeans

    median = float(np.median([k for k in sizes.values() if k > 0]))
    out = []
    for given, likely in pairs:
        members = np.flatnonzero(found.labels == found.classes.index(given))
        split = KMeans(2, n_init=10, random_state=seed).fit_predict(features[members])
        a, b = members[split == 0].tolist(), members[split == 1].tolist()
        if not is_merged((len(a), len(b)), median):
            continue
        inputs = list(dict.fromkeys(found.inputs[i] for i in members))
        out.append(MergedClass(given, likely, (a, b), found.where, median, inputs))
    return out
