"""JSON Schema of the report document (``--json`` output), with enums from the rule registry.

A consumer (CI job, dashboard) can validate reports against it; the enum of
codes is generated from ``datacheck.rules.registry`` so it never lags behind.
"""

from __future__ import annotations

from typing import Any

from datacheck.report.report import INPUT_STATUSES, RunStats
from datacheck.rules.registry import CODES, Scope, Severity


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``Report.to_dict()``.

    >>> schema = report_json_schema()
    >>> "label_range" in schema["$defs"]["violation"]["properties"]["code"]["enum"]
    True
    """
    violation = {
        "type": "object",
        "required": ["code", "feature", "message", "severity", "scope"],
        "properties": {
            "code": {"enum": sorted(CODES), "description": "registered rule code"},
            "feature": {"type": "string"},
            "message": {"type": "string"},
            "fix": {"type": "string", "description": "what to do about it"},
            "observed": {}, "expected": {},
            "where": {"type": "string"},
            "severity": {"enum": [s.value for s in Severity]},
            "extra": {"type": "object"},
            "input": {"type": ["string", "null"]},
            "scope": {"enum": ["input", "dataset"]},
        },
    }
    statuses = list(INPUT_STATUSES)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "datacheck report",
        "type": "object",
        "required": ["version", "kind", "ok", "counts", "violations", "inputs"],
        "properties": {
            "version": {"const": 1},
            "kind": {"type": "string"},
            "schema": {"type": ["string", "null"]},
            "ok": {"type": "boolean"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "violations": {"type": "array", "items": {"$ref": "#/$defs/violation"}},
            "inputs": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["status"],
                "properties": {"status": {"enum": statuses},
                               "codes": {"type": "array",
                                         "items": {"enum": sorted(CODES)}}}}},
            "skipped": {"type": "object"},
            "summaries": {"type": "object"},
            "stats": {"type": "object", "description": "RunStats: keys depend on the kind",
                      "properties": {key: {} for key in RunStats.__annotations__}},
        },
        "$defs": {"violation": violation,
                  "rule_scope": {"enum": [s.value for s in Scope]}},
    }
