"""pytest plugin (auto-loaded through the ``pytest11`` entry point): a schema fixture.

The schema comes from, in order: a ``@pytest.mark.datacheck_schema(...)`` marker
on the test (or its class/module), the ``--datacheck-schema`` option, or the
``datacheck_schema`` ini value. Each may be a bundled name or a .yaml/.json path
(relative to the test file, the invocation directory and the rootdir
respectively). Nothing heavy loads at start-up: the schema is read when a test
asks for the fixture.

    @pytest.mark.datacheck_schema("cifar10")
    def test_loader(datacheck_schema):
        assert_matches(load_batch(), datacheck_schema)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from datacheck.schema.model import Schema

OPTION = "--datacheck-schema"
INI = "datacheck_schema"
MARKER = "datacheck_schema"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("datacheck", "datacheck: data-vs-schema checks")
    group.addoption(OPTION, dest="datacheck_schema", default=None, metavar="SCHEMA",
                    help="schema for the datacheck_schema fixture: a bundled name or a "
                         ".yaml/.json path")
    parser.addini(INI, "schema for the datacheck_schema fixture (name or path)", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(schema): schema (bundled name, path or dict) for the "
                   "datacheck_schema fixture")


def pytest_report_header(config: pytest.Config) -> str | None:
    chosen = config.getoption("datacheck_schema") or config.getini(INI)
    return f"datacheck schema: {chosen}" if chosen else None


def _resolve(value: Any, base: Path) -> Any:
    """Paths are relative to ``base`` when they exist there; names and dicts pass through."""
    if isinstance(value, (str, Path)):
        candidate = base / str(value)
        if not Path(value).is_absolute() and candidate.is_file():
            return candidate
    return value


def _source(request: pytest.FixtureRequest) -> tuple[Any, str]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if len(marker.args) != 1 or marker.kwargs:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes one argument: a schema name, "
                                    f"path or dict; got {marker.args!r} {marker.kwargs!r}")
        return _resolve(marker.args[0], request.path.parent), f"@pytest.mark.{MARKER}"
    config = request.config
    option = config.getoption("datacheck_schema")
    if option:
        return _resolve(option, config.invocation_params.dir), OPTION
    ini = config.getini(INI)
    if ini:
        return _resolve(ini, config.rootpath), f"ini {INI}"
    pytest.fail(f"the {MARKER} fixture needs a schema: mark the test with "
                f"@pytest.mark.{MARKER}('cifar10'), pass {OPTION}=NAME_OR_PATH, or set "
                f"{INI} in the pytest ini file.", pytrace=False)


@pytest.fixture
def datacheck_schema(request: pytest.FixtureRequest) -> Schema:
    """The datacheck Schema chosen by marker, command-line option or ini value."""
    from datacheck.errors import SchemaError
    from datacheck.schema.io import load_schema

    source, origin = _source(request)
    try:
        return load_schema(source)
    except SchemaError as exc:
        pytest.fail(f"datacheck_schema (from {origin}): {exc}", pytrace=False)
