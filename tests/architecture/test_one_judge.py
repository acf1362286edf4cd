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


def test_reports_validate_against_the_generated_json_schema(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    import jsonschema
    import numpy as np

    import datacheck as dc
    from datacheck.report.json_schema import report_json_schema

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 8, 8, 1)).astype(np.float32)  # 0-255 for a [0, 1] schema
    y = rng.integers(-1, 10, 64)
    x[3] = 0.0
    report = dc.check((x, y), {"name": "t", "features": {"image": {
        "layout": "HWC", "shape": [8, 8, 1], "dtype": "float32", "range": [0, 1]}},
        "labels": {"label": {"encoding": "sparse", "num_classes": 10}}})
    document = json.loads(report.to_json())
    assert {"range", "label_range", "constant"} <= {v["code"] for v in document["violations"]}
    jsonschema.validate(document, report_json_schema())
    printed = subprocess.run([sys.executable, "-m", "datacheck", "schema",
                              "--report-json-schema"], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == report_json_schema()
    bad = dict(document, violations=[dict(document["violations"][0], code="no_such_code")])
    try:
        jsonschema.validate(bad, report_json_schema())
    except jsonschema.ValidationError as exc:
        assert "no_such_code" in str(exc)
    else:
        raise AssertionError("an unregistered code validated")


def test_the_registry_says_which_codes_the_testing_strategies_plant() -> None:
    from datacheck.testing._plants import APPLIES, PLANTS

    plantable = {code for code, rule in RULES.items() if rule.plantable}
    assert set(PLANTS) == set(APPLIES) == plantable


def test_every_declared_measurement_is_in_the_view_protocols() -> None:
    from datacheck.rules.views import LabelView

    protocol = set(dir(LabelView))  # LabelView extends TensorView
    for code, rule in RULES.items():
        missing = set(rule.measures) - protocol
        assert not missing, f"{code} asks views for {sorted(missing)}, not in rules/views.py"
    assert RULES["range"].measures and RULES["nonfinite"].measures and RULES["dark"].measures
