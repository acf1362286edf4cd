"""Load schemas from bundled names, YAML or JSON files, and dicts, with errors people can act on."""

from __future__ import annotations

import difflib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from datacheck.errors import SchemaError
from datacheck.schema.model import Schema

BUNDLED_PACKAGE = "datacheck.schemas"


def bundled_names() -> list[str]:
    """Names of the schemas shipped with datacheck (``dc.load_schema(name)``)."""
    root = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name.rsplit(".", 1)[0] for p in root.iterdir() if p.name.endswith(".yaml"))


class SchemaNameWarning(UserWarning):
    """A bare schema name that is both a bundled schema and a file in the working directory."""


def load_schema(source: str | Path | dict[str, Any] | Schema) -> Schema:
    """Load a schema from a bundled name, a .yaml/.json path, a dict, or pass one through.

    A bare name (no folder separator, no suffix) is a bundled schema; a file of
    that name in the working directory neither replaces it silently nor stops
    it (one warning line names both; pass ``./NAME`` for the file). Paths need
    a separator or a ``.yaml``/``.yml``/``.json`` suffix.

    >>> load_schema("mnist").name
    'mnist'
    """
    if isinstance(source, Schema):
        return source
    if isinstance(source, dict):
        return schema_from_dict(source, origin="<dict>")
    text_source = str(source)
    path = Path(text_source)
    looks_like_path = isinstance(source, Path) or any(sep in text_source for sep in _SEPS) \
        or path.suffix.lower() in (".yaml", ".yml", ".json")
    if not looks_like_path:
        local = _local_file(text_source)
        if text_source in bundled_names():
            if local:
                import warnings

                warnings.warn(f"schema {text_source!r} is the bundled schema; the file "
                              f"./{_short(text_source)} in the working directory is not used "
                              f"(pass ./{_short(text_source)} to use it).", SchemaNameWarning,
                              stacklevel=2)
            text = resources.files(BUNDLED_PACKAGE).joinpath(f"{text_source}.yaml").read_text(
                encoding="utf-8")
            return schema_from_text(text, origin=f"bundled schema {text_source!r}", fmt="yaml")
        close = difflib.get_close_matches(text_source, bundled_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if local:
            name = _short(text_source)
            raise SchemaError(
                f"no bundled schema named {name!r}; the file ./{name} is not taken as a schema "
                f"path without a folder separator or a .yaml/.json suffix: pass ./{name}.{hint}")
        raise SchemaError(
            f"no bundled schema named {_short(text_source)!r} and no such file.{hint} "
            f"Bundled: {', '.join(bundled_names())}; or pass a path to a .yaml/.json file."
        )
    from datacheck.errors import DataError
    from datacheck.readers.gate import read_text

    try:
        if not path.exists():
            raise SchemaError(f"schema file {_short(text_source)} does not exist (or is not a "
                              "file)")
        # Through the gate: a FIFO or device is refused, not read forever.
        text = read_text(path, label=_short(text_source))
    except DataError as exc:
        raise SchemaError(f"cannot read schema file {exc}") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SchemaError(f"cannot read schema file {_short(text_source)}: {reason}") from None
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return schema_from_text(text, origin=text_source, fmt=fmt)


#: Folder separators that make a schema argument a path.
_SEPS = tuple({"/", os.sep, os.altsep or "/"})


def _local_file(name: str) -> bool:
    """Whether the working directory holds an entry called ``name`` (errors mean no)."""
    try:
        return os.path.lexists(name)
    except (OSError, ValueError):
        return False


def schema_from_text(text: str, origin: str, fmt: str = "yaml") -> Schema:
    """Parse YAML (safe tags; size, depth, alias and duplicate-key limits) or JSON text."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"{origin}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:
            raise SchemaError(f"{origin}: unreadable JSON ({_reason(exc)})") from None
    else:
        import yaml

        from datacheck.schema.yamlsafe import load_yaml

        try:
            data = load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SchemaError(f"{origin}: malformed YAML{where}: {problem}") from None
        # safe_load's constructors raise plain Python errors for tags with bad values
        # (!!int abc, !!int "" -> IndexError, !!timestamp 2001-13-45) and recursion
        # errors for deep nesting.
        except (ValueError, KeyError, IndexError, AttributeError, TypeError,
                RecursionError) as exc:
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
    from datacheck.schema.drift import drift_model_at
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
