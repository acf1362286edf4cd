"""Load schemas from bundled names, YAML or JSON files, and dicts, with errors people can act on."""

from __future__ import annotations

import difflib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from datacheck.errors import SchemaError
from datacheck.schema.model import Schema

BUNDLED_PACKAGE = "datacheck._bundled_schemas"


def bundled_names() -> list[str]:
    """Names of the schemas shipped with datacheck (``dc.load_schema(name)``)."""
    root = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name.rsplit(".", 1)[0] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_schema(source: str | Path | dict[str, Any] | Schema) -> Schema:
    """Load a schema from a bundled name, a .yaml/.json path, a dict, or pass one through.

    >>> load_schema("mnist").name
    'mnist'
    """
    if isinstance(source, Schema):
        return source
    if isinstance(source, dict):
        return schema_from_dict(source, origin="<dict>")
    text_source = str(source)
    path = Path(text_source)
    looks_like_path = path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists() \
        or "/" in text_source
    if not looks_like_path:
        if text_source in bundled_names():
            text = resources.files(BUNDLED_PACKAGE).joinpath(f"{text_source}.yaml").read_text(
                encoding="utf-8")
            return schema_from_text(text, origin=f"bundled schema {text_source!r}", fmt="yaml")
        close = difflib.get_close_matches(text_source, bundled_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SchemaError(
            f"no bundled schema named {text_source!r} and no such file.{hint} "
            f"Bundled: {', '.join(bundled_names())}; or pass a path to a .yaml/.json file."
        )
    try:
        if not path.is_file():
            raise SchemaError(f"schema file {text_source} does not exist (or is not a file)")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SchemaError(f"cannot read schema file {_short(text_source)}: {reason}") from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return schema_from_text(text, origin=text_source, fmt=fmt)


def schema_from_text(text: str, origin: str, fmt: str = "yaml") -> Schema:
    """Parse YAML (safe_load only) or JSON text into a Schema."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"{origin}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:
            raise SchemaError(f"{origin}: unreadable JSON ({_reason(exc)})") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SchemaError(f"{origin}: malformed YAML{where}: {problem}") from None
        # safe_load's constructors raise plain Python errors for tags with bad values
        # (!!int abc, !!timestamp 2001-13-45) and recursion errors for deep nesting.
        except (ValueError, KeyError, AttributeError, TypeError, RecursionError) as exc:
            raise SchemaError(f"{origin}: unreadable YAML ({_reason(exc)})") from None
    if not isinstance(data, dict):
        raise SchemaError(
            f"{origin}: a schema must be a mapping with 'features' and/or 'labels', "
            f"got {type(data).__name__}"
        )
    return schema_from_dict(data, origin=origin)


def schema_from_dict(data: dict[str, Any], origin: str = "<dict>") -> Schema:
    try:
        return Schema.model_validate(data)
    except PydanticValidationError as exc:
        raise SchemaError(f"{origin}: {describe_errors(exc)}") from None
    except RecursionError:
        raise SchemaError(f"{origin}: the schema is nested too deeply to be a schema") from None


#: Longest rendering of a bad input value in an error message (YAML aliases can expand
#: a few bytes of text into megabytes).
MAX_SHOWN = 80


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def _reason(exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return _short(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


def describe_errors(exc: PydanticValidationError) -> str:
    """One line per problem, each naming the field and, for typos, the nearest valid key."""
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        where = ".".join(loc) or "schema"
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            valid = _valid_keys_at(loc[:-1])
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"
            lines.append(f"{where}: unknown key {key!r}{hint}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {_short(msg)} (got {_short(err.get('input'))})"
                         if err["type"] not in ("value_error", "assertion_error")
                         else f"{where}: {_short(msg)}")
    return "; ".join(lines)


def _valid_keys_at(loc: list[str]) -> list[str]:
    """Field names of the model found at a pydantic error location."""
    from datacheck.drift.config import drift_model_at
    from datacheck.schema.medical import medical_model_at
    from datacheck.schema.model import Feature, Label

    model: type[BaseModel] = medical_model_at(loc) or drift_model_at(loc) or Schema
    if loc and loc[0] == "features" and len(loc) >= 2:
        model = Feature
    elif loc and loc[0] == "labels" and len(loc) >= 2:
        model = Label
    return sorted(model.model_fields)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the schema format, for editor completion of schema YAML."""
    doc = Schema.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "datacheck schema"
    return doc
