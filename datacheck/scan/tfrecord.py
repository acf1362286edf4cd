"""Check a TFRecord file of ``tf.train.Example`` records, record by record.

The schema's ``tfrecord:`` section names the Example key and encoding of
each feature and label. Each record is decoded (image bytes with Pillow, raw
tensor bytes with their dtype and shape, int64/float lists) and judged as one
element named by its record index. A record that cannot be decoded is
reported with its index and the scan goes on; a broken frame (bad CRC, cut
short) ends the file, since nothing after it can be found again, and says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from datacheck.errors import DataError
from datacheck.schema.model import Schema

if TYPE_CHECKING:
    from datacheck.readers.guards import Limits
    from datacheck.report.report import InputStatus
    from datacheck.scan.collect import ScanCollector
    from datacheck.scan.units import Options, Unit
    from datacheck.schema.tfrecord import TFRecordFeature, TFRecordSpec


def run_tfrecord(unit: Unit, schema: Schema, options: Options, collector: ScanCollector,
                 inputs: dict[str, InputStatus]) -> None:
    """Judge each record of one TFRecord file; corrupt records are reported by index."""
    from datacheck.readers.tfrecord import CorruptRecord, iter_records, parse_example
    from datacheck.rules.files import corrupt_records
    from datacheck.scan.collect import has_error

    if schema.tfrecord is None:
        raise DataError(f"{unit.name}: a .tfrecord file needs a tfrecord: section in the schema "
                        "naming the Example key of each feature, e.g. tfrecord: {features: "
                        "{image: {key: image/encoded, encoding: image}, label: {key: label}}}.")
    collector.batched = False  # one record per step: "file, element 12" is record 12
    bad: dict[int, str] = {}
    broken: str | None = None
    read = 0
    violating = False
    records = iter_records(unit.path, options.limits, source=unit.name)
    while True:
        try:
            data = next(records)
        except StopIteration:
            break
        except CorruptRecord as exc:
            broken = str(exc)
            break
        index = read
        read += 1
        try:
            batch = decode_record(parse_example(data), schema, options, f"{unit.name} record "
                                  f"{index}")
        except Exception as exc:  # one bad record never stops the file
            text = str(exc).splitlines()[0] if str(exc) else ""
            bad[index] = text if isinstance(exc, DataError) else \
                f"not a readable tf.train.Example ({type(exc).__name__}: {text})"
            continue
        violating |= has_error(collector.add_batch(batch, index, index, source=unit.name))
    if read == 0 and broken is None:
        from datacheck.rules.dataset import empty_violation

        found = empty_violation(schema, 0, unit.name, collector.report.violations)
        if found is not None:
            collector.add([found])
            violating = True
    if bad or broken:
        collector.add([corrupt_records(unit.name, read, bad, broken)])
    checked = read - len(bad)
    inputs[unit.name] = "unreadable" if (bad or broken) and checked == 0 else \
        "violating" if violating or bad or broken else "ok"


def decode_record(example: dict[str, Any], schema: Schema, options: Options,
                  where: str) -> dict[str, np.ndarray]:
    """The schema's names of one record as arrays with a batch axis of 1."""
    assert schema.tfrecord is not None
    return decode_example(example, schema.tfrecord, schema.features, options.limits, where)


def decode_example(example: dict[str, Any], section: TFRecordSpec, features: dict[str, Any],
                   limits: Limits, where: str) -> dict[str, np.ndarray]:
    """The names of ``section`` in one parsed Example, decoded (images scaled as ``features``
    declares), each with a batch axis of 1; ``infer`` decodes with this too, before any
    schema exists."""
    from datacheck.readers.images import decode_image, to_feature_scale

    batch: dict[str, np.ndarray] = {}
    for name, spec in section.features.items():
        if spec.key not in example:
            continue  # the judge reports the missing name (missing_feature)
        value = example[spec.key]
        if spec.encoding == "image":
            if not isinstance(value, list) or len(value) != 1:
                raise DataError(f"{where}: {spec.key} holds {_count(value)} values, not one "
                                "encoded image")
            array = decode_image(value[0], limits, source=f"{where} {spec.key}")
            feature = features.get(name)
            if feature is not None:
                array = to_feature_scale(array, feature.normalization, feature.value_range())
        else:
            array = _tensor(value, spec, where)
        batch[name] = array[None]
    return batch


def _count(value: Any) -> int:
    return len(value)


def _tensor(value: Any, spec: TFRecordFeature, where: str) -> np.ndarray:
    if spec.encoding == "raw":
        if not isinstance(value, list) or len(value) != 1:
            raise DataError(f"{where}: {spec.key} holds {_count(value)} byte strings, not one "
                            "raw tensor")
        dtype = np.dtype(spec.dtype)
        assert spec.shape is not None
        need = int(np.prod(spec.shape)) * dtype.itemsize
        if len(value[0]) != need:
            raise DataError(f"{where}: {spec.key} holds {len(value[0])} bytes, but "
                            f"{spec.dtype} {spec.shape} needs {need}; fix tfrecord dtype/shape")
        return np.frombuffer(value[0], dtype=dtype).reshape(spec.shape)
    if isinstance(value, list):
        raise DataError(f"{where}: {spec.key} holds bytes, not {spec.encoding} values; set its "
                        "encoding to image or raw")
    array = np.asarray(value, dtype=np.int64 if spec.encoding == "int64" else np.float32)
    if spec.shape is not None:
        if array.size != int(np.prod(spec.shape)):
            raise DataError(f"{where}: {spec.key} holds {array.size} values, but shape "
                            f"{spec.shape} needs {int(np.prod(spec.shape))}")
        return array.reshape(spec.shape)
    return array.reshape(()) if array.size == 1 else array
