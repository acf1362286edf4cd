"""One judge: only modules in datacheck/rules/ build a Violation (and so decide a code).

Everything else measures, reads or reports, and asks a rule for the verdict.
``Violation.from_dict`` (reading a report back) is deserialisation, not a verdict.
"""

from __future__ import annotations

import ast
from pathlib import Path

import datacheck
from datacheck.report.violation import CODES
from datacheck.rules.registry import RULES, Code, Scope, Severity

PACKAGE = Path(datacheck.__file__).parent
#: The record type itself.
RECORD = PACKAGE / "report" / "violation.py"


def _builders(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) else "")
        if name == "Violation":
            lines.append(node.lineno)
        # dataclasses.replace(v, code=...) re-decides a code just as well
        if name == "replace" and any(k.arg == "code" for k in node.keywords):
            lines.append(node.lineno)
    return lines


def test_no_module_outside_rules_builds_a_violation() -> None:
    rules = PACKAGE / "rules"
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if rules in path.parents or path == RECORD:
            continue
        lines = _builders(path)
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert not offenders, f"Violation built outside datacheck/rules/: {offenders}"


def test_every_code_is_one_registered_rule() -> None:
    assert CODES == frozenset(RULES) == {c.value for c in Code}
    for code, rule in RULES.items():
        assert rule.code == code
        assert isinstance(rule.scope, Scope) and isinstance(rule.severity, Severity)
        assert rule.doc and rule.fix, code


def test_a_violation_carries_its_rules_fix() -> None:
    from datacheck.report.violation import Violation

    v = Violation("range", "image", "image: range: max 255 > 1.")
    assert v.fix == RULES["range"].fix
    assert v.to_dict()["fix"] == v.fix
    assert Violation.from_dict(v.to_dict()) == v
    mine = Violation("range", "image", "m", fix="divide by 255")
    assert mine.fix == "divide by 255"
