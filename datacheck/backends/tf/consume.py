"""`check()` on a tf.data.Dataset: consume it eagerly and judge batches with the numpy backend."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from datacheck.backends.tf.spec_judge import static_violations
from datacheck.backends.tf.structure import detect_batched, namer, specs_by_name
from datacheck.engine.collector import Collector
from datacheck.errors import DataError
from datacheck.report.report import Report
from datacheck.schema.model import Schema


def check_dataset(dataset: tf.data.Dataset, schema: Schema, *, batched: bool | None = None,
                  batch_size: int = 32, max_batches: int | None = None) -> Report:
    """Consume ``dataset`` once (at most ``max_batches`` batches) and return the Report."""
    spec = dataset.element_spec
    to_named = namer(schema, spec)
    specs = specs_by_name(schema, spec)
    is_batched = detect_batched(schema, specs) if batched is None else batched
    collector = Collector(schema, input="<dataset>")
    collector.add(static_violations(schema, specs, is_batched))
    if not is_batched:
        dataset = dataset.batch(batch_size)
    if max_batches is not None:
        dataset = dataset.take(max_batches)
    offset = 0
    try:
        for index, element in enumerate(dataset.as_numpy_iterator()):
            arrays: dict[str, Any] = {k: np.asarray(v) for k, v in to_named(element).items()
                                      if k in schema.names()}
            collector.add_batch(arrays, index, offset)
            offset += max((a.shape[0] if a.ndim else 1 for a in arrays.values()), default=0)
    except tf.errors.OpError as exc:
        raise DataError(f"the dataset failed while being read at element {offset}: "
                        f"{exc.message.splitlines()[0]}") from None
    report = collector.finish()
    report.mark_input("<dataset>", "ok" if report.ok else "violating")
    return report
