"""Public entry points. Nothing here imports TensorFlow until a dataset is passed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datacheck.data import DEFAULT_BATCH_SIZE, bind, iter_batches
from datacheck.report.report import Report
from datacheck.schema.io import load_schema
from datacheck.schema.model import Schema


def is_tf_dataset(data: Any) -> bool:
    """True for a tf.data.Dataset, decided without importing TensorFlow."""
    return any(cls.__module__.startswith("tensorflow") and cls.__name__ in ("DatasetV2",)
               for cls in type(data).__mro__)


def check(data: Any, schema: str | Path | dict[str, Any] | Schema, *,
          batch_size: int = DEFAULT_BATCH_SIZE, batched: bool | None = None,
          workers: int = 1, scheduler: str | None = None, limits: Any = None,
          progress: bool | None = False, each: bool = False, montages: int = 12) -> Report:
    """Check data eagerly against a schema and return a Report.

    ``data``: a dict or tuple of numpy arrays (cut into batches of
    ``batch_size``), a batched ``tf.data.Dataset`` (consumed once; pass
    ``batched=False`` for a dataset of single elements), or one or more paths
    (files, folders, manifests; ``workers``/``scheduler`` scale the scan and
    ``limits=datacheck.readers.guards.Limits(max_bytes=...)`` bounds what a
    header may make it allocate). Paths given together are one dataset for the
    dataset-scope rules; ``each=True`` judges those rules per input. For
    volumes the report stores previews (oriented slices, mask outline,
    foreground histogram) of ``montages`` of them, errors first, for the HTML
    report.

    >>> import numpy as np, datacheck as dc
    >>> x = np.random.rand(64, 28, 28, 1).astype("float32"); y = np.arange(64) % 10
    >>> dc.check((x, y), "mnist").ok
    True
    """
    resolved = load_schema(schema)
    if isinstance(data, (str, Path)) or (
            isinstance(data, Sequence) and data and all(isinstance(p, (str, Path)) for p in data)):
        from datacheck.scan import check_paths

        paths = [data] if isinstance(data, (str, Path)) else list(data)
        return check_paths(paths, resolved, batch_size=batch_size, workers=workers,
                           scheduler=scheduler, limits=limits, progress=progress, each=each,
                           montages=montages)
    if is_tf_dataset(data):
        from datacheck.backends.tf.consume import check_dataset

        return check_dataset(data, resolved, batched=batched, batch_size=batch_size)
    from datacheck.engine.collector import check_batches

    arrays = bind(resolved, data)
    # No arrays at all still reach the judge once, which reports every feature missing.
    batches = iter_batches(arrays, batch_size) if arrays else iter([{}])
    return check_batches(resolved, batches)


def validate(dataset: Any, schema: str | Path | dict[str, Any] | Schema, *,
             on_error: str = "raise", batched: bool | None = None,
             log: str | None = None, warn_first: int = 10,
             max_drop_fraction: float = 0.5) -> Any:
    """Return ``dataset`` with every batch checked in graph as it flows.

    ``on_error``: ``"raise"`` (stop with the datacheck message), ``"warn"``
    (log, rate-limited), ``"drop"`` (remove violating elements; each is logged
    with its index) or ``"collect"`` (accumulate a Report, see ``.report()``).
    The static ``element_spec`` is checked now, before any data is read.
    In drop mode every pass (epoch, repetition, worker share) is counted in
    graph; a pass that drops more than ``max_drop_fraction`` of its elements
    stops with ``dc.DropLimitError``. Wrap training in ``dc.translate_errors()``
    to get datacheck errors back from ``model.fit``.

    >>> ds = dc.validate(ds.batch(128), "cifar10", on_error="raise")  # doctest: +SKIP
    """
    from datacheck.backends.tf.validate import validate as tf_validate

    return tf_validate(dataset, load_schema(schema), on_error=on_error, batched=batched,
                       log=log, warn_first=warn_first, max_drop_fraction=max_drop_fraction)
