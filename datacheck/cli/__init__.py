"""Command line: `datacheck check|doctor|infer|diff|report|schema` (also `python -m datacheck`)."""
