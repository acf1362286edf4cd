"""Profiles: the saved summary of one dataset that ``datacheck diff`` compares.

A profile holds, per name, the merged TensorSummary, a per-channel histogram
on the fixed power-of-two grid, the class counts of labels, header counts of
volumes (orientation, spacing) and, when asked, the element hashes used to
find duplicates. It is built in one pass and saved as JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.data import DEFAULT_BATCH_SIZE
from datacheck.dedup.hashing import Method, content_hashes, perceptual_hashes
from datacheck.dedup.index import HashIndex
from datacheck.errors import DataError
from datacheck.infer.observe import Observation
from datacheck.infer.schema import decide_labels
from datacheck.infer.sources import Batch, guess_layout, open_source
from datacheck.schema.model import Schema
from datacheck.summary import TensorSummary
from datacheck.summary.histogram import STORED_BINS, ChannelHistogram, channel_values

if TYPE_CHECKING:
    from datacheck.report.report import InputStatus


PROFILE_KIND = "datacheck-profile"
#: Channel axes longer than this are pooled (a 4D time series is not 200 channels).
MAX_CHANNELS = 16


@dataclass
class Entry:
    """What one feature or label looked like in a dataset."""

    role: str  # "feature" or "label"
    summary: TensorSummary
    layout: str | None = None
    histogram: ChannelHistogram | None = None
    classes: Counter[str] | None = None
    headers: dict[str, Counter[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "layout": self.layout, "summary": self.summary.to_dict(),
                "histogram": None if self.histogram is None else self.histogram.to_dict(),
                "classes": None if self.classes is None else dict(self.classes),
                "headers": {k: dict(v) for k, v in self.headers.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        hist = data.get("histogram")
        classes = data.get("classes")
        return cls(str(data.get("role", "feature")), TensorSummary.from_dict(data["summary"]),
                   data.get("layout"), None if hist is None else ChannelHistogram.from_dict(hist),
                   None if classes is None else Counter({str(k): int(v)
                                                         for k, v in classes.items()}),
                   {k: Counter(v) for k, v in (data.get("headers") or {}).items()})


@dataclass
class Profile:
    """A dataset's summary for drift and leakage checks; JSON round-trips.

    >>> p = build_profile((np.random.rand(8, 4, 4, 1), np.arange(8) % 2)); sorted(p.entries)
    ['image', 'label']
    """

    source: str
    entries: dict[str, Entry] = field(default_factory=dict)
    elements: int = 0
    batches: int = 0
    hashes: HashIndex | None = None
    #: What the pass observed (not saved): lets ``infer --profile`` reuse the same read.
    observations: dict[str, Observation] = field(default_factory=dict, repr=False)
    #: Input files read or not, and why not (not saved): the pass went on without them.
    inputs: dict[str, InputStatus] = field(default_factory=dict, repr=False)
    problems: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Schema sections the reader knew (manifest, hdf5...; not saved), for ``infer --profile``.
    sections: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": PROFILE_KIND, "version": 1, "source": self.source,
                "elements": self.elements, "batches": self.batches,
                "entries": {k: v.to_dict() for k, v in self.entries.items()},
                "hashes": None if self.hashes is None else self.hashes.to_dict()}

    def write(self, path: str | Path) -> None:
        try:
            Path(path).write_text(json.dumps(self.to_dict(), allow_nan=False) + "\n",
                                  encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write profile {path}: {exc.strerror}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> Profile:
        if data.get("kind") != PROFILE_KIND:
            raise DataError(f"{origin}: not a datacheck profile (kind {data.get('kind')!r}); "
                            "write one with `datacheck diff A B --save-a PATH` or "
                            "`datacheck infer DATA --profile PATH`.")
        try:
            hashes = data.get("hashes")
            return cls(str(data.get("source", origin)),
                       {str(k): Entry.from_dict(v) for k, v in data["entries"].items()},
                       int(data.get("elements", 0)), int(data.get("batches", 0)),
                       None if hashes is None else HashIndex.from_dict(hashes))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{origin}: malformed profile ({type(exc).__name__}: {exc})") from None

    @classmethod
    def read(cls, path: str | Path) -> Profile:
        from datacheck.readers.gate import read_text

        try:  # through the gate: a regular file of bounded size
            data = json.loads(read_text(path))
        except (OSError, json.JSONDecodeError, RecursionError) as exc:
            raise DataError(f"{path}: cannot read profile ({str(exc)[:200]})") from None
        if not isinstance(data, dict):
            raise DataError(f"{path}: not a datacheck profile (a JSON {type(data).__name__})")
        return cls.from_dict(data, str(path))


def is_profile_path(data: Any) -> bool:
    """True for a path to a saved profile (.json) rather than to data."""
    return isinstance(data, (str, Path)) and str(data).lower().endswith(".json")


def build_profile(data: Any, *, schema: Schema | None = None, name: str | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE, batched: bool | None = None,
                  bins: int = STORED_BINS, hashes: bool = False, method: Method = "ahash",
                  max_batches: int | None = None) -> Profile:
    """Summarize ``data`` (anything ``dc.check`` reads) in one pass; see :class:`Profile`."""
    if is_profile_path(data):
        return Profile.read(data)
    source = open_source(data, batch_size=batch_size, batched=batched)
    rename = _renamer(schema, source.names, source.positional)
    builder = _Builder(schema, bins, HashIndex(name or source.description) if hashes else None,
                       method)
    for index, batch in enumerate(source.batches):
        if max_batches is not None and index >= max_batches:
            break
        builder.add(Batch({rename.get(k, k): v for k, v in batch.arrays.items()}, batch.source,
                          batch.offset, batch.headers, batch.single), index)
    if not builder.seen:
        why = "; ".join(v.message for v in source.problems.values()) or "empty input"
        raise DataError(f"{source.description}: no data to profile ({why})")
    names = [rename.get(n, n) for n in source.names]
    profile = builder.finish(source.description, names, source.positional)
    profile.inputs, profile.problems = source.inputs, source.problems
    profile.sections = dict(source.sections)
    return profile


def _renamer(schema: Schema | None, names: list[str], positional: bool) -> dict[str, str]:
    # Positional data binds to schema names by position, as dc.check binds it.
    if schema is None or not positional or set(names) <= set(schema.names()):
        return {}
    return dict(zip(names, schema.names(), strict=False))


class _Builder:
    def __init__(self, schema: Schema | None, bins: int, hashes: HashIndex | None,
                 method: Method) -> None:
        self.schema, self.bins, self.hashes, self.method = schema, bins, hashes, method
        self.seen: dict[str, Observation] = {}
        self.histograms: dict[str, ChannelHistogram | None] = {}
        self.layouts: dict[str, str | None] = {}
        self.batches = 0

    def _layout(self, name: str, element: tuple[int, ...]) -> str | None:
        if name not in self.layouts:
            feature = self.schema.features.get(name) if self.schema is not None else None
            layout = feature.layout if feature is not None else guess_layout(element)
            self.layouts[name] = layout if layout and len(layout) == len(element) else None
        return self.layouts[name]

    def add(self, batch: Batch, index: int) -> None:
        for key, arr in batch.arrays.items():
            obs = Observation.of(arr, index)
            obs.headers.update(batch.headers.get(key, {}))
            self.seen[key] = self.seen[key].merge(obs) if key in self.seen else obs
            self._histogram(key, np.asarray(arr))
        if self.hashes is not None:
            self._hash(batch)
        self.batches += 1

    def _histogram(self, key: str, arr: np.ndarray) -> None:
        if arr.dtype.kind not in "biuf" or arr.ndim == 0:
            self.histograms[key] = None
            return
        layout = self._layout(key, arr.shape[1:])
        axis = layout.index("C") if layout and "C" in layout and arr.ndim == len(layout) + 1 \
            else None
        if axis is not None and arr.shape[axis + 1] > MAX_CHANNELS:
            axis = None
        hist = ChannelHistogram.of(channel_values(arr, axis), self.bins)
        if key not in self.histograms:
            self.histograms[key] = hist
            return
        old = self.histograms[key]
        if old is not None and old.channels != hist.channels:
            hist, old = hist.pooled(), old.pooled()
        self.histograms[key] = None if old is None else old.merge(hist)

    def _hash(self, batch: Batch) -> None:
        assert self.hashes is not None
        labels = set(self.schema.labels) if self.schema is not None else {
            k for k in batch.arrays if k.startswith("label")}
        feats = [k for k in batch.arrays if k not in labels]
        if not feats:
            return
        arrays = [np.asarray(batch.arrays[k]) for k in feats]
        exact = content_hashes(arrays)
        main = feats[0]
        perceptual = perceptual_hashes(arrays[0], self._layout(main, arrays[0].shape[1:]),
                                       self.method)
        label_key = next((k for k in batch.arrays if k in labels), None)
        label_arr = None if label_key is None else np.asarray(batch.arrays[label_key])
        for i, digest in enumerate(exact):
            where = batch.source if batch.single else f"{batch.source} element {batch.offset + i}"
            label = None
            if label_arr is not None and label_arr.ndim and i < label_arr.shape[0]:
                label = str(label_arr[i].tolist())
            bits, thumb = (None, None) if perceptual is None else (
                perceptual[0][i].tobytes(), perceptual[1][i].tobytes())
            self.hashes.add(where, digest, bits, label, thumb)

    def finish(self, description: str, names: list[str], positional: bool) -> Profile:
        order = [n for n in names if n in self.seen] + [n for n in self.seen if n not in names]
        if self.schema is not None:
            labels = {n for n in order if n in self.schema.labels}
        else:
            labels = decide_labels(order, self.seen, positional)
        entries: dict[str, Entry] = {}
        for key in order:
            obs = self.seen[key]
            is_label = key in labels and obs.label is not None
            classes = None
            if is_label and obs.label is not None:
                classes = Counter({str(k): int(v) for k, v in obs.label.histogram.items()})
            headers: dict[str, Counter[str]] = {}
            for (field_name, value), count in obs.headers.items():
                headers.setdefault(str(field_name), Counter())[str(value)] += count
            entries[key] = Entry("label" if is_label else "feature", obs.tensor,
                                 self.layouts.get(key), self.histograms.get(key), classes,
                                 headers)
        elements = max((o.tensor.elements for o in self.seen.values()), default=0)
        return Profile(description, entries, elements, self.batches, self.hashes, self.seen)
