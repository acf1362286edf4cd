"""Hypothesis strategies from a schema: valid batches, and batches that break exactly one rule.

Needs hypothesis (``pip install 'datacheck[test]'``). Data is built from the
schema's declarations alone, never by asking datacheck's judge, so a test that
feeds it to ``dc.check`` (or to your loader) tests the rules for real.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from datacheck.errors import MissingDependencyError, SchemaError
from datacheck.schema.io import load_schema
from datacheck.schema.layout import ELEMENT_LAYOUTS, channel_axis
from datacheck.schema.model import NORMALIZATION_RANGES, Schema
from datacheck.testing._build import DEFAULT_MAX_VALUES, Batch, materialize, new_draft
from datacheck.testing._plants import APPLIES, PLANTS, WARNING_CODES
from datacheck.testing._values import SCALES, STYLES, Infeasible

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - hypothesis is in the test extra
    raise MissingDependencyError("hypothesis", "test", "datacheck.testing strategies") from exc

SchemaLike = str | Path | dict[str, Any] | Schema
#: Codes ``violations()`` can plant (when the schema declares what they need).
VIOLATION_CODES: tuple[str, ...] = tuple(PLANTS)
_PROBES = 4


def violation_codes(schema: SchemaLike) -> dict[str, list[str]]:
    """Which names of ``schema`` can break each code on their own.

    >>> violation_codes("mnist")["range"]
    ['image']
    """
    resolved = load_schema(schema)
    out = {code: [n for n in resolved.names() if APPLIES[code](resolved, n)]
           for code in VIOLATION_CODES}
    return {code: names for code, names in out.items() if names}


def is_warning(schema: SchemaLike, code: str, name: str) -> bool:
    """True when the planted violation is reported as a warning (the data still passes)."""
    test = WARNING_CODES.get(code)
    return bool(test and test(load_schema(schema), name))


def _knobs(draw: Any, max_batch: int) -> dict[str, Any]:
    return {"seed": draw(st.integers(0, 2 ** 32 - 1)), "batch": draw(st.integers(1, max_batch)),
            "style": draw(st.sampled_from(STYLES)), "scale": draw(st.sampled_from(SCALES))}


def _make(schema: Schema, knobs: dict[str, Any], max_values: int, code: str | None = None,
          name: str | None = None, pins: dict[str, dict[str, str]] | None = None) -> Batch:
    rng = np.random.default_rng(knobs["seed"])
    draft = new_draft(schema, rng, batch=knobs["batch"], style=knobs["style"],
                      scale=knobs["scale"], max_values=max_values,
                      dtypes=(pins or {}).get("dtypes"),
                      label_shapes=(pins or {}).get("label_shapes"))
    if code is None or name is None:
        return materialize(draft)
    PLANTS[code](draft, name)
    return materialize(draft, code, name)


def _probe(schema: Schema, max_values: int, code: str | None = None,
           name: str | None = None, pins: dict[str, dict[str, str]] | None = None
           ) -> Infeasible | None:
    """Try a few fixed draws now, so an impossible request fails here and not as 'Unsatisfiable'."""
    failure: Infeasible | None = None
    for seed in range(_PROBES):
        knobs = {"seed": seed, "batch": 1 + seed, "style": STYLES[seed % len(STYLES)],
                 "scale": 1.0}
        try:
            _make(schema, knobs, max_values, code, name, pins)
            return None
        except Infeasible as exc:
            failure = exc
    return failure


def batches(schema: SchemaLike, *, max_batch: int = 8,
            max_values: int = DEFAULT_MAX_VALUES, dtypes: Mapping[str, str] | None = None,
            label_shapes: Mapping[str, str] | None = None) -> st.SearchStrategy[Batch]:
    """Batches (dicts of numpy arrays keyed by schema name) that satisfy every rule of ``schema``.

    Values touch the declared bounds, hold as few as two distinct values,
    and meet declared means/stds; every class is present when the batch can
    hold them all. Raises SchemaError now when no valid batch exists.

    ``dtypes`` pins the numpy dtype of some names (the schema must allow it) and
    ``label_shapes`` pins a sparse label's shape to ``"flat"`` (``[B]``) or
    ``"column"`` (``[B, 1]``), so the batches feed ``model.train_on_batch``
    directly instead of drawing every dtype and shape the schema accepts.

    >>> from hypothesis import given
    >>> @given(batches("mnist", dtypes={"image": "float32", "label": "int64"},
    ...                label_shapes={"label": "flat"}))
    ... def test_loader_accepts(batch): model.train_on_batch(batch["image"], batch["label"])
    ...  # doctest: +SKIP
    """
    resolved = load_schema(schema)
    pins = {"dtypes": dict(dtypes or {}), "label_shapes": dict(label_shapes or {})}
    _check_pin_names(resolved, pins["dtypes"], pins["label_shapes"])
    failure = _probe(resolved, max_values, pins=pins)
    if failure is not None:
        raise SchemaError(f"batches(): cannot build valid data for schema {resolved.name!r}: "
                          f"{failure}")

    @st.composite
    def build(draw: Any) -> Batch:
        try:
            return _make(resolved, _knobs(draw, max_batch), max_values, pins=pins)
        except Infeasible:
            assume(False)
            raise  # pragma: no cover - assume() raised already

    return build()


def _check_pin_names(schema: Schema, dtypes: Mapping[str, str],
                     label_shapes: Mapping[str, str]) -> None:
    for name, dtype in dtypes.items():
        if name not in schema.names():
            raise SchemaError(f"batches(): dtypes names {name!r}, which schema {schema.name!r} "
                              f"does not declare ({', '.join(schema.names())})")
        try:
            np.dtype(dtype)
        except TypeError:
            raise SchemaError(f"batches(): dtypes[{name!r}] = {dtype!r} is not a numpy dtype") \
                from None
    for name, kind in label_shapes.items():
        label = schema.labels.get(name)
        if label is None or label.encoding not in ("sparse", "string") or \
                kind not in ("flat", "column"):
            raise SchemaError(f"batches(): label_shapes takes sparse or string labels of the "
                              f"schema with 'flat' or 'column'; got {name!r}: {kind!r}")




def violations(schema: SchemaLike, code: str, *, feature: str | None = None,
               max_batch: int = 8, max_values: int = DEFAULT_MAX_VALUES
               ) -> st.SearchStrategy[Batch]:
    """Batches that break exactly one rule, ``code``, in one feature or label (``feature``).

    Everything else stays valid, so ``dc.check(batch, schema, batch_size=batch.batch_size)``
    reports ``code`` and nothing else. ``batch.feature`` names where it was planted.

    >>> from hypothesis import given
    >>> @given(violations("mnist", "range"))
    ... def test_loader_rejects(batch): ...  # doctest: +SKIP
    """
    resolved = load_schema(schema)
    if code not in PLANTS:
        raise SchemaError(f"violations(): cannot plant {code!r}; plantable codes: "
                          f"{', '.join(VIOLATION_CODES)}")
    names = [n for n in resolved.names() if APPLIES[code](resolved, n)
             and (feature is None or n == feature)]
    usable = [n for n in names if _probe(resolved, max_values, code, n) is None]
    if not usable:
        where = f" in {feature!r}" if feature else ""
        possible = ", ".join(sorted(violation_codes(resolved))) or "none"
        raise SchemaError(f"violations(): schema {resolved.name!r} declares nothing{where} "
                          f"that can break {code!r} alone. Codes it can: {possible}.")

    @st.composite
    def build(draw: Any) -> Batch:
        name = draw(st.sampled_from(usable))
        try:
            return _make(resolved, _knobs(draw, max_batch), max_values, code, name)
        except Infeasible:
            assume(False)
            raise  # pragma: no cover

    return build()


# -- schemas ------------------------------------------------------------------------------
_DTYPES = ("float32", "float64", "float16", "floating", "uint8", "int32", "integer")
_NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@st.composite
def _feature(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    layout = draw(st.none() | st.sampled_from(ELEMENT_LAYOUTS))
    rank = len(layout) if layout else draw(st.integers(0, 3))
    if layout:
        out["layout"] = layout
    if draw(st.booleans()):
        out["shape"] = draw(st.lists(st.none() | st.integers(1, 6), min_size=rank,
                                     max_size=rank))
    elif not layout and draw(st.booleans()):
        out["rank"] = rank
    axis = channel_axis(layout) if layout else None
    if axis is not None and draw(st.booleans()):
        fixed = out.get("shape", [None] * rank)[axis]
        out["channels"] = fixed if fixed is not None else draw(st.integers(1, 4))
    if draw(st.booleans()):
        out["dtype"] = draw(st.sampled_from(_DTYPES) | st.lists(
            st.sampled_from(_DTYPES), min_size=1, max_size=3, unique=True))
    norm = draw(st.none() | st.sampled_from(sorted(NORMALIZATION_RANGES)))
    if norm:
        out["normalization"] = norm
    implied = NORMALIZATION_RANGES.get(norm or "")
    if draw(st.booleans()) and norm != "zscore":
        lo_bound, hi_bound = implied or (-1e4, 1e4)
        ends = draw(st.lists(st.floats(lo_bound, hi_bound, allow_nan=False), min_size=2,
                             max_size=2))
        out["range"] = sorted(ends)
    if "range" not in out and not implied and draw(st.integers(0, 4)) == 0:
        out["mean"] = draw(st.floats(-10, 10))
        out["std"] = draw(st.floats(0.1, 10))
    for key in ("finite", "not_constant"):
        if draw(st.integers(0, 3)) == 0:
            out[key] = draw(st.booleans())
    if draw(st.integers(0, 5)) == 0:
        out["optional"] = True
    return out


@st.composite
def _label(draw: Any) -> dict[str, Any]:
    encoding = draw(st.sampled_from(("sparse", "one_hot", "multi_hot", "string")))
    out: dict[str, Any] = {"encoding": encoding}
    # One class one-hot is degenerate (the rules read width 1 as sparse ids) and a schema
    # may not declare fewer than 2 sparse classes; one string class stays allowed.
    n = draw(st.integers(1 if encoding == "string" else 2, 6))
    if encoding == "string" or draw(st.integers(0, 3)) == 0:
        if encoding == "string":
            out["classes"] = [f"c{i}" for i in range(n)]
        elif encoding == "sparse" and draw(st.booleans()):
            out["classes"] = sorted(draw(st.sets(st.integers(0, 20), min_size=n, max_size=n)))
    if "classes" not in out or draw(st.booleans()):
        out["num_classes"] = n
    if encoding == "sparse" and draw(st.booleans()):
        out["dtype"] = draw(st.sampled_from(("integer", "int64", "uint8", "floating")))
    if draw(st.booleans()):
        out["min_class_fraction"] = draw(st.floats(0.0, 1.0 / n))
    if draw(st.booleans()):
        out["shuffle_window"] = draw(st.integers(2, 4))
    return out


@st.composite
def schema_dicts(draw: Any, max_features: int = 2, max_labels: int = 1) -> dict[str, Any]:
    """Raw schema dicts (YAML-shaped) that the schema model accepts."""
    features = draw(st.dictionaries(_NAMES.map(lambda s: f"f_{s}"), _feature(),
                                    max_size=max_features))
    labels = draw(st.dictionaries(_NAMES.map(lambda s: f"y_{s}"), _label(),
                                  min_size=0 if features else 1, max_size=max_labels))
    return {"name": draw(_NAMES), "version": 1, "features": features, "labels": labels}


def schemas(max_features: int = 2, max_labels: int = 1) -> st.SearchStrategy[Schema]:
    """Valid Schema objects with small shapes, for property tests over many schemas.

    >>> from hypothesis import given
    >>> @given(schemas())
    ... def test_round_trip(s): assert load_schema(s.to_dict()) == s  # doctest: +SKIP
    """
    @st.composite
    def build(draw: Any) -> Schema:
        data = draw(schema_dicts(max_features, max_labels))
        try:
            return Schema.model_validate(data)
        except ValueError:  # pydantic's ValidationError; the dicts are built to avoid it
            assume(False)
            raise  # pragma: no cover

    return build()
