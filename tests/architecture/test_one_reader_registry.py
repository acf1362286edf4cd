"""One reader registry: suffix tables live only in datacheck/readers/registry.py.

A module that lists two or more registered suffixes in one literal (a tuple,
set, list or dict of ".nii", ".nii.gz", ".h5" ...) is keeping a reader table of
its own; it must ask the registry (``suffix_of``, ``format_of``, ``suffixes``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import datacheck
from datacheck.readers.registry import FORMATS, by_kind, format_of, suffix_of, suffixes

PACKAGE = Path(datacheck.__file__).parent
REGISTERED = {s for fmt in FORMATS for s in fmt.suffixes}


def _tables(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        elements: list[ast.expr] = []
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            elements = list(node.elts)
        elif isinstance(node, ast.Dict):
            elements = [k for k in node.keys if k is not None]
        found = {e.value for e in elements if isinstance(e, ast.Constant)
                 and isinstance(e.value, str) and e.value.lower() in REGISTERED}
        if len(found) >= 2:
            lines.append(node.lineno)
    return lines


def test_no_suffix_table_outside_the_registry() -> None:
    registry = PACKAGE / "readers" / "registry.py"
    offenders = {str(p.relative_to(PACKAGE)): lines for p in sorted(PACKAGE.rglob("*.py"))
                 if p != registry and (lines := _tables(p))}
    assert not offenders, f"suffix tables outside readers/registry.py: {offenders}"


def test_every_format_has_its_handlers() -> None:
    for fmt in FORMATS:
        assert fmt.suffixes and all(s.startswith(".") and s == s.lower() for s in fmt.suffixes)
        for which in ("runner", "opener"):
            if getattr(fmt, which) is not None:
                assert callable(fmt.handler(which)), (fmt.kind, which)


def test_suffixes_resolve_longest_first() -> None:
    assert suffix_of("a/b/sub-01.NII.GZ") == ".nii.gz"
    assert suffix_of("x.tar.gz") == ".gz"
    assert suffix_of("README") == ""
    assert format_of("scan.nii").kind == format_of("scan.nii.gz").kind == "nifti"
    assert by_kind("h5").suffixes == (".h5", ".hdf5")
    assert suffixes("nifti") == (".nii.gz", ".nii")
