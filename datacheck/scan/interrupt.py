"""Ctrl-C during a scan: stop at a unit boundary and keep what was checked.

The first SIGINT only sets a flag: the scan loops look at it between units
(and every ``POLL_S`` while they wait for workers), stop the workers and
return what was merged so far, so no result is ever half merged. A unit
running in this process (``--workers 1``) is abandoned at once instead. A
second SIGINT raises ``KeyboardInterrupt`` as usual, to quit now.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any


class Interrupt:
    """A context that turns the first Ctrl-C into a request to stop.

    Outside the main thread (where Python delivers no signals) it does nothing.

    >>> with Interrupt() as stop:  # doctest: +SKIP
    ...     for unit in units:
    ...         if stop.requested: break
    """

    def __init__(self) -> None:
        self.requested = False
        #: True while a unit runs in this process: Ctrl-C then abandons it at once.
        self.abandon = False
        self._previous: Any = None
        self._installed = False

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and not self.abandon:
            raise KeyboardInterrupt  # the second Ctrl-C: quit now
        self.requested = True
        if self.abandon:
            raise KeyboardInterrupt  # caught by the serial loop, which stops there


def quit_quietly_on_sigint() -> None:
    """From now on Ctrl-C ends the process at once with 130, printing nothing (CLI only)."""
    import os

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda signum, frame: os._exit(130))
