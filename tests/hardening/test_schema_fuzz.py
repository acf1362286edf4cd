"""Fuzz the schema parser: random and mutated YAML/JSON, structured junk, hostile files.

About 10,000 cases across the tests in this file, bounded by max_examples (no
time-based deadline, so a loaded CI machine does not flake). Every input must
parse or raise a SchemaError with a bounded message (``targets.expect_clean``).
Crash classes found once have explicit regression tests at the end,
routed to the owner of ``datacheck/schema/io.py``. Longer runs:
``python benchmarks/fuzz_long.py``.
"""

from __future__ import annotations

import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import datacheck as dc
from datacheck.schema.io import schema_from_text
from datacheck.schema.layout import KNOWN_LAYOUTS
from datacheck.schema.model import Schema
from datacheck.testing.strategies import schema_dicts
from tests.hardening import targets

SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
            HealthCheck.large_base_example]


def fuzz(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, suppress_health_check=SUPPRESS)


BUNDLED = [resources.files("datacheck.schemas").joinpath(f"{name}.yaml").read_text(
    encoding="utf-8") for name in dc.schema.bundled_names()]
YAML_TOKENS = ["{", "}", "[", "]", ",", ":", ": ", "- ", "&a ", "*a", "!!str ", "!!int ",
               "!!python/object:os.system ", "? ", "|\n  ", ">-\n  ", "#", "'", '"', "\t",
               "\n", "\n  ", "---\n", "...\n", "null", "~", ".nan", "-.inf", "1e309",
               "0x1F", "0o17", "true", "no", "2001-12-14", "<<: *a", "%YAML 1.1\n", "\x00",
               "\ufeff", "é", "\u202e", "NHWC", "float32", "one_hot", "-1", "99999999999999"]
YAML_ALPHABET = "{}[],:&*!|>-?#'\"\n\t .0123456789abcdefxyzNHWC_~%@`\\"


# -- random text -------------------------------------------------------------------------
@fuzz(2800)
@given(st.text(max_size=300) | st.text(alphabet=YAML_ALPHABET, max_size=300))
def test_random_text_is_a_schema_or_a_schema_error_yaml(text):
    targets.schema_text(text, "yaml")


@fuzz(1500)
@given(st.text(max_size=300) | st.text(alphabet='{}[],:"\\ 0123456789.eE-+truefalsn', max_size=300))
def test_random_text_is_a_schema_or_a_schema_error_json(text):
    targets.schema_text(text, "json")


def test_tagged_scalars_that_crash_pyyaml_are_schema_errors():
    # Found by the mutation fuzzer: PyYAML's int constructor indexes an empty string.
    for text in ('a: !!int ""', "!!int", 'features: {image: {channels: !!int ""}}',
                 "a: !!bool x", "a: !!float x", "a: !!int 0b_"):
        with pytest.raises(dc.SchemaError, match="unreadable YAML"):
            dc.schema.io.schema_from_text(text, "<test>")


# -- mutated real schemas ----------------------------------------------------------------
def _mutate(text: str, op: int, at: int, width: int, token: str) -> str:
    i = at % (len(text) + 1)
    j = min(len(text), i + width)
    if op == 0:
        return text[:i] + token + text[i:]
    if op == 1:
        return text[:i] + text[j:]
    if op == 2:
        return text[:j] + text[i:j] + text[j:]
    return text[:i] + token + text[j:]


_OP = st.tuples(st.integers(0, 3), st.integers(0, 4000), st.integers(0, 40),
                st.sampled_from(YAML_TOKENS))


@fuzz(1000)
@given(st.sampled_from(BUNDLED), st.lists(_OP, min_size=2, max_size=6))
def test_mutated_bundled_schemas_parse_or_fail_cleanly(text, ops):
    # Two cases per example: half of the mutations, then all of them.
    for count in (len(ops) // 2, len(ops)):
        mutated = text
        for op in ops[:count]:
            mutated = _mutate(mutated, *op)
        targets.schema_text(mutated, "yaml")


# -- structured junk shaped like the schema model ------------------------------------------
_JUNK_LEAF = (st.none() | st.booleans() | st.integers(-(10 ** 30), 10 ** 30)
              | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
              | st.sampled_from(["HWC", "NCHW", "float32", "integer", "one_hot", "sparse",
                                 "unit", "zscore", "RAS", "agree", "*", "?"]))
_JUNK = st.recursive(_JUNK_LEAF, lambda inner: st.lists(inner, max_size=5)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """BaseModel classes inside a field annotation (X, X | None, dict[str, X], list[X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _is_mapping(annotation: Any) -> bool:
    return get_origin(annotation) is dict or any(get_origin(a) is dict
                                                 for a in get_args(annotation))


@st.composite
def model_like(draw: Any, model: type[BaseModel], depth: int = 0) -> dict[str, Any]:
    """A dict keyed by some of the model's own field names (rarely a typo), values junk or
    nested models, so validation reaches every level of the schema."""
    names = list(model.model_fields)
    out: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=5, unique=True)):
        annotation = model.model_fields[name].annotation
        inner = _models(annotation)
        if inner and depth < 2 and draw(st.integers(0, 3)):
            sub = draw(st.sampled_from(inner))
            if _is_mapping(annotation):
                keys = draw(st.lists(st.text(min_size=1, max_size=5), max_size=2, unique=True))
                out[name] = {k: draw(model_like(sub, depth + 1)) for k in keys}
            else:
                out[name] = draw(model_like(sub, depth + 1))
        elif name == "layout" and draw(st.booleans()):
            out[name] = draw(st.sampled_from(KNOWN_LAYOUTS))
        else:
            out[name] = draw(_JUNK)
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.sampled_from(names)) + "s"] = draw(_JUNK)
    return out


@fuzz(1000)
@given(model_like(Schema) | _JUNK)
def test_schema_shaped_junk_validates_or_fails_cleanly(data):
    targets.schema_object(data)
    # Every one-key-shorter variant is a case of its own (cheap: no YAML parsing).
    if isinstance(data, dict):
        for key in list(data)[:5]:
            targets.schema_object({k: v for k, v in data.items() if k != key})


# -- valid schemas round-trip -------------------------------------------------------------
@fuzz(200)
@given(schema_dicts(max_features=3, max_labels=2))
def test_valid_schemas_round_trip_through_yaml_and_json(data):
    schema = targets.schema_object(data)
    assert schema is not None, "schema_dicts() builds valid schemas"
    assert schema_from_text(schema.to_yaml(), "rt.yaml", "yaml") == schema
    assert schema_from_text(schema.to_json(), "rt.json", "json") == schema


# -- files ---------------------------------------------------------------------------------
_FOLDER = Path(tempfile.mkdtemp(prefix="datacheck-fuzz-"))
_NAME_CHARS = st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",))


@fuzz(400)
@given(name=st.text(_NAME_CHARS, min_size=1, max_size=40),
       suffix=st.sampled_from([".yaml", ".yml", ".json", ".YAML", ""]),
       content=st.binary(max_size=200) | st.sampled_from(BUNDLED).map(str.encode))
def test_schema_files_with_hostile_names_and_bytes(name, suffix, content):
    path = _FOLDER / f"{name}{suffix}"
    try:
        path.write_bytes(content)
    except OSError:  # a name this file system refuses is not the parser's business
        return
    try:
        targets.schema_file(path)
    finally:
        path.unlink(missing_ok=True)


# -- crash classes the fuzzers found once, kept as regression tests ---------------------------
@pytest.mark.parametrize(("text", "fmt"), [("[" * 5000 + "]" * 5000, "yaml"),
                                           ("a: " + "{a: " * 3000 + "1" + "}" * 3000, "yaml"),
                                           ("[" * 100_000 + "]" * 100_000, "json")],
                         ids=["yaml-list", "yaml-map", "json"])
def test_deeply_nested_input_is_a_schema_error(text, fmt):
    targets.schema_text(text, fmt, strict=True)


def test_huge_integer_literal_is_a_schema_error():
    digits = sys.get_int_max_str_digits() + 1
    targets.schema_text("features: {x: {rank: " + "9" * digits + "}}", "yaml", strict=True)


def test_yaml_alias_bomb_gives_a_short_error():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcde", "bcdef", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    targets.schema_text("\n".join(lines) + "\nname: *f\nfeatures: {x: {rank: 1}}\n",
                        strict=True)


def test_overlong_schema_path_is_a_schema_error():
    targets.schema_file(Path("a" * 300 + ".yaml"), strict=True)


@pytest.mark.parametrize("text", ["name: !!int abc", "name: !!float .", "name: !!bool abc",
                                  "name: !!timestamp abc", "name: !!timestamp 2001-13-45",
                                  "name: !!int 0x"])
def test_explicit_yaml_tags_with_bad_values_are_schema_errors(text):
    targets.schema_text(text, "yaml", strict=True)
