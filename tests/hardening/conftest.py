"""Print how many fuzz cases ran, so CI logs carry the figure docs/hardening.md quotes."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.hardening.targets import CASES, KNOWN

    if CASES:
        parts = ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
        terminalreporter.write_line(f"datacheck fuzz: {sum(CASES.values())} cases ({parts})")
    for name, count in sorted(KNOWN.items()):
        terminalreporter.write_line(f"datacheck fuzz: known crash class hit {count}x: {name}")
