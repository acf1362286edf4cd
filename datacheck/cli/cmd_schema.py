"""`datacheck schema [NAME] [--json-schema | --report-json-schema]`: schemas and JSON Schemas."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="bundled schema name or path: print it as YAML")
    parser.add_argument("--json-schema", action="store_true",
                        help="print the JSON Schema of the schema format (for editors)")
    parser.add_argument("--report-json-schema", action="store_true",
                        help="print the JSON Schema of the report that --json writes")


def run(args: argparse.Namespace) -> int:
    from datacheck.schema.io import bundled_names, json_schema, load_schema

    if args.report_json_schema:
        from datacheck.report.json_schema import report_json_schema

        print(json.dumps(report_json_schema(), indent=2))
    elif args.json_schema:
        print(json.dumps(json_schema(), indent=2))
    elif args.name:
        print(load_schema(args.name).to_yaml(), end="")
    else:
        for name in bundled_names():
            schema = load_schema(name)
            print(f"{name:12s} {schema.description or ''}")
    return 0
