"""TFRecord files for ``infer``: the ``tfrecord:`` section and the records as named elements.

The keys and encodings are read from the first records: a single byte string
whose first bytes are a PNG, JPEG, GIF or BMP signature is an ``image``;
int64 and float lists keep their kind; a key named like a label
(``image/class/label``, ``y``...) becomes the schema's ``label``. Raw tensor
bytes carry no dtype or shape, so they are only inferred when int64 keys of
the same record name the shape (``height``, ``width``, ``depth``/``channels``)
and the byte count matches uint8 or float32; otherwise the key is left out
and the reason is said (never a guessed shape). Each record is then decoded
exactly as ``check`` decodes it (``scan.tfrecord.decode_example``), so an
inferred schema checks its own data. A corrupt record is an ``unreadable``
input named by its index; a broken frame ends that file, and the read goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datacheck.errors import DataError
from datacheck.infer.sources import LABEL_NAMES, Batch, Source

#: Records read to decide keys and encodings (a key missing from the first one is optional).
_SNIFF = 8
#: Leading bytes of the encodings Pillow decodes (``readers.images``).
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_SHAPE_KEYS = (("height", "rows"), ("width", "cols"), ("depth", "channels"))


def _is_image(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and value[0].startswith(_SIGNATURES)


def _name(key: str, taken: set[str]) -> str:
    parts = [p for p in re.split(r"[/.:\-]", key.lower()) if p]
    base = re.sub(r"[^a-z0-9_]", "_", "_".join(parts)) or "feature"
    if (parts and parts[-1] in LABEL_NAMES) or key.lower() in LABEL_NAMES:
        base = "label"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _raw_shape(key: str, value: list[bytes], example: dict[str, Any]) -> tuple[str, list[int]]:
    """dtype and shape of raw tensor bytes from the record's own shape keys, or DataError."""
    dims: list[int] = []
    prefix = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    for names in _SHAPE_KEYS:
        found = next((example[k] for n in names for k in (prefix + n, n)
                      if k in example and not isinstance(example[k], list)
                      and example[k].size == 1), None)
        if found is not None:
            dims.append(int(found[0]))
    size = len(value[0])
    for dtype, width in (("uint8", 1), ("float32", 4)):
        if len(dims) >= 2 and all(d > 0 for d in dims) and size == width * _prod(dims):
            return dtype, dims
    raise DataError(f"{key}: raw bytes ({size} per record) with no height/width keys that "
                    "give their shape; declare it in the schema (tfrecord: {features: {NAME: "
                    "{key: ..., encoding: raw, dtype: ..., shape: [...]}}}).")


def _prod(dims: list[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def tfrecord_section(examples: list[dict[str, Any]],
                     notes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Schema name -> ``{key, encoding[, dtype, shape]}`` for the keys of ``examples``.

    >>> import numpy as np
    >>> tfrecord_section([{"image/class/label": np.array([3])}])
    {'label': {'key': 'image/class/label', 'encoding': 'int64'}}
    """
    keys = list(dict.fromkeys(k for e in examples for k in e))
    taken: set[str] = set()
    images = [k for k in keys if all(_is_image(e[k]) for e in examples if k in e)]
    # The first image key is "image": the name Keras and our bundled schemas use.
    order = images[:1] + [k for k in keys if k not in images[:1]]
    out: dict[str, dict[str, Any]] = {}
    for key in order:
        values = [e[key] for e in examples if key in e]
        if key in images:
            name = "image" if key == images[0] and "image" not in taken else _name(key, taken)
            taken.add(name)
            out[name] = {"key": key, "encoding": "image"}
        elif all(isinstance(v, list) for v in values):
            try:
                dtype, shape = _raw_shape(key, values[0], examples[0])
            except DataError as exc:
                if notes is not None:
                    notes.append(f"left out: {exc}")
                continue
            out[_name(key, taken)] = {"key": key, "encoding": "raw", "dtype": dtype,
                                      "shape": shape}
        elif any(isinstance(v, list) for v in values):
            if notes is not None:
                notes.append(f"left out: {key} holds bytes in some records, numbers in others")
        else:
            kind = "float" if values[0].dtype.kind == "f" else "int64"
            sizes = {v.size for v in values}
            spec: dict[str, Any] = {"key": key, "encoding": kind}
            if len(sizes) == 1 and next(iter(sizes)) > 1:
                spec["shape"] = [next(iter(sizes))]
            out[_name(key, taken)] = spec
    return out


def open_tfrecord(path: Path, mask: Path | None, batch_size: int) -> Source:
    """A Source over the records of one TFRecord file, one record per batch (images may differ
    in size), with the ``tfrecord:`` section it was read with."""
    from datacheck.readers.guards import active_limits
    from datacheck.readers.tfrecord import CorruptRecord, iter_records, parse_example
    from datacheck.rules.files import unreadable
    from datacheck.scan.plan import display
    from datacheck.scan.tfrecord import decode_example
    from datacheck.schema.tfrecord import TFRecordSpec

    name = display(path)
    limits = active_limits()
    head: list[dict[str, Any]] = []
    try:
        for i, data in enumerate(iter_records(path, limits, source=name)):
            if i >= _SNIFF:
                break
            try:
                head.append(parse_example(data))
            except Exception:  # a bad record is reported with its index when read below
                continue
    except CorruptRecord:
        pass  # reported with its index while the records are read
    if not head:
        raise DataError(f"{name}: no readable tf.train.Example record to infer from")
    notes: list[str] = []
    section = tfrecord_section(head, notes)
    if not section:
        raise DataError(f"{name}: no feature datacheck can decode ({'; '.join(notes)})")
    spec = TFRecordSpec.model_validate({"features": section})
    source = Source(list(section), False, iter(()), name,
                    {"tfrecord": {"features": section}})

    def batches() -> Iterator[Batch]:
        records = iter_records(path, limits, source=name)
        index = 0
        while True:
            where = f"{name} record {index}"
            try:
                data = next(records)
            except StopIteration:
                break
            except CorruptRecord as exc:  # the framing broke: nothing after it can be found
                source.problems[where] = unreadable(where, exc)
                source.inputs[where] = "unreadable"
                break
            try:
                arrays = decode_example(parse_example(data), spec, {}, limits, where)
            except Exception as exc:  # one bad record never stops inference
                source.problems[where] = unreadable(where, exc)
                source.inputs[where] = "unreadable"
                index += 1
                continue
            yield Batch(arrays, name, index)
            index += 1

    source.batches = batches()
    return source
