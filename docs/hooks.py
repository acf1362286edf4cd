"""mkdocs hooks: the reference pages are generated from the code when the site is built.

Pages hold markers that ``on_page_markdown`` replaces, so the schema and rules
references cannot fall behind the code they describe:

- ``<!-- datacheck:readme -->`` (docs/index.md): the page becomes README.md, its links made to
  work in the site;
- ``<!-- datacheck:schema-reference -->`` (docs/schema.md): every schema key, from the pydantic
  models' field descriptions;
- ``<!-- datacheck:rules-reference -->`` (docs/rules.md): every violation code;
- ``<!-- datacheck:api -->`` (docs/api.md): one mkdocstrings ``:::`` entry per name in
  ``datacheck.__all__`` (mkdocstrings renders them after this hook runs).

The functions take and return plain strings (no mkdocs import), so tests/test_docs.py can
check what they produce without building the site.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
README_MARKER = "<!-- datacheck:readme -->"
SCHEMA_MARKER = "<!-- datacheck:schema-reference -->"
RULES_MARKER = "<!-- datacheck:rules-reference -->"
API_MARKER = "<!-- datacheck:api -->"

# [text](target) with a relative target; http(s) links and #anchors are left alone.
_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://|#)([^)\s]+)\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs entry point: fill the markers of one page."""
    if README_MARKER in markdown:
        # The whole page: what follows the marker is for people reading docs/ on a forge.
        return readme_for_site()
    if SCHEMA_MARKER in markdown:
        markdown = markdown.replace(SCHEMA_MARKER, schema_reference())
    if RULES_MARKER in markdown:
        markdown = markdown.replace(RULES_MARKER, rules_reference())
    if API_MARKER in markdown:
        markdown = markdown.replace(API_MARKER, api_entries())
    return markdown


def readme_for_site(readme: str | None = None) -> str:
    """README.md as the site's front page: ``docs/X`` links point at the page X; links to other
    repository files (CONTRIBUTING.md, examples/) become code, since the site does not hold them."""
    text = (ROOT / "README.md").read_text() if readme is None else readme

    def relink(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if target.startswith("docs/"):
            return f"[{label}]({target.removeprefix('docs/')})"
        return label if label.strip("`") == target else f"{label} (`{target}`)"

    return _LINK.sub(relink, text)


def api_entries() -> str:
    """One ``::: datacheck.NAME`` entry per public name: functions first, then classes and
    other objects, errors last. Names are read from ``__all__`` without importing them (most
    load on first use; mkdocstrings resolves them statically, as a type checker does)."""
    import datacheck
    import datacheck.errors as errors

    def order(name: str) -> tuple[int, str]:
        error = isinstance(getattr(errors, name, None), type)
        return (2 if error else 1 if name[:1].isupper() else 0), name.lower()

    names = sorted((n for n in datacheck.__all__ if not n.startswith("_")), key=order)
    return "\n\n".join(f"::: datacheck.{n}" for n in names)


# ---------------------------------------------------------------- schema reference

def schema_reference() -> str:
    """One table per schema section, from ``datacheck.Schema`` and the models it nests."""
    from datacheck import Schema

    sections: list[str] = []
    _model_tables(Schema, "(top level)", sections, set())
    return "\n\n".join(sections)


def _model_tables(model: type[BaseModel], where: str, out: list[str],
                  seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        description = field.description or _first_line(_models_in(field.annotation))
        rows.append(f"| `{key}` | {_cell(_type_name(field.annotation))} | "
                    f"{_cell(_default(field))} | {_cell(description)} |")
        for sub in _models_in(field.annotation):
            path = key if where == "(top level)" else f"{where}.{key}"
            if _is_mapping(field.annotation):
                path += ".<name>"
            nested.append((sub, path))
    doc = _first_line([model])
    title = f"### `{where}`" if where != "(top level)" else "### Top level"
    out.append(f"{title}\n\n`{model.__name__}`{': ' + doc if doc else ''}\n\n" + "\n".join(rows))
    for sub, path in nested:
        _model_tables(sub, path, out, seen)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [m for m in _models_in(arg) if m not in found]
    return found


def _is_mapping(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (dict, typing.Union, types.UnionType):
        return origin is dict or any(_is_mapping(a) for a in typing.get_args(annotation))
    return False


def _first_line(models: list[type[BaseModel]]) -> str:
    doc = (models[0].__doc__ or "").strip() if models else ""
    return doc.splitlines()[0] if doc else ""


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args if a is not type(None)))
    if origin is typing.Literal:
        return " / ".join(str(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        inner = " or ".join(dict.fromkeys(_type_name(a) for a in args if a is not Ellipsis))
        return f"list of {inner}" if inner else "list"
    if origin is dict:
        return f"mapping of name to {_type_name(args[1])}" if len(args) == 2 else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
                "NoneType": "null"}.get(annotation.__name__, annotation.__name__)
    if hasattr(annotation, "__value__"):  # a `type X = ...` alias
        return _type_name(annotation.__value__)
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return repr(field.default_factory())
    if field.default is PydanticUndefined:
        return "required"
    value = field.default
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------- rules reference

def rules_reference() -> str:
    """Every violation code, one row per registered rule of ``datacheck.rules.registry``."""
    from datacheck.rules.registry import RULES

    rows = ["| code | scope | usual severity | what it means | fix | parameters (defaults) |"
            " view measurements | plantable |", "|---|---|---|---|---|---|---|---|"]
    for code in sorted(RULES):
        rule = RULES[code]
        params = ", ".join(f"`{k}` = {v}" for k, v in getattr(rule, "params", {}).items())
        plantable = "yes" if getattr(rule, "plantable", False) else ""
        measures = ", ".join(f"`{m}`" for m in getattr(rule, "measures", ()))
        rows.append(f"| `{code}` | {_plain(rule.scope)} | {_plain(rule.severity)} | "
                    f"{_cell(rule.doc)} | {_cell(getattr(rule, 'fix', ''))} | {_cell(params)} | "
                    f"{measures} | {plantable} |")
    return (f"{len(RULES)} codes, generated from `datacheck.rules.registry.RULES` when the site "
            "is built. *Scope* says what one finding is about; *view measurements* are what a "
            "batch or element rule reads from a backend's view (`datacheck/rules/views.py`); "
            "*plantable* codes can be planted "
            "into valid batches by `datacheck.testing.violations(schema, code)` "
            "([testing](testing.md)).\n\n" + "\n".join(rows))


def _plain(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)
