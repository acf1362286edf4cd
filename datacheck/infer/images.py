"""Image folders for ``infer``: the same planning as ``check`` (labels from class subfolders
or a labels table), read one image per batch so images of different sizes can mix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from datacheck.infer.sources import Batch, Source


def open_image_folder(path: Path, mask: Path | None, batch_size: int) -> Source:
    """A Source over the images of ``path`` (or one image file), named image and label."""
    from datacheck.readers.guards import Limits
    from datacheck.readers.images import read_image
    from datacheck.rules.files import unreadable
    from datacheck.scan.images import is_image, plan_images
    from datacheck.scan.plan import Plan, _walk

    plan = Plan()
    limits = Limits()
    if path.is_dir():
        images = [p for p in _walk(plan, path) if is_image(p)]
        plan_images(plan, path, images, None, limits)
        members = [m for unit in plan.units for m in unit.members]
    else:
        members = [(str(path), plan.name(path), None, 0)]
    labelled = any(m[2] is not None for m in members)
    names = ["image", "label"] if labelled else ["image"]
    source = Source(names, False, iter(()), str(path))
    for v in plan.violations:  # unlabeled images, a broken labels table
        if v.input is not None:
            source.problems[v.input] = v
            source.inputs[v.input] = "unreadable"

    def batches() -> Iterator[Batch]:
        for file, name, label, index in members:
            try:
                array = read_image(file, limits, source=name)
            except Exception as exc:  # one bad image never stops inference
                source.problems[name] = unreadable(name, exc)
                source.inputs[name] = "unreadable"
                continue
            arrays = {"image": array[None]}
            if labelled:
                arrays["label"] = np.asarray([-1 if label is None else label], np.int64)
            source.inputs[name] = "ok"
            yield Batch(arrays, name, index)

    source.batches = batches()
    return source
