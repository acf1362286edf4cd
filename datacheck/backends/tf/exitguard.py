"""Keeps collect mode's Python callback out of interpreter shutdown (see ``ExitGuard``)."""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterator


class ExitGuard:
    """Keeps collect mode's Python callback out of interpreter shutdown.

    A prefetching thread of an abandoned iterator that enters the callback while
    Python finalizes can never take the GIL, and destroying the iterator then
    waits on it forever. At exit the callback turns into a no-op and in-flight
    calls are waited for (bounded), so the thread ends up parked in TF, not in
    Python, when the interpreter goes down.
    """

    def __init__(self) -> None:
        self.exiting = False
        self.active = 0
        self.last = 0.0
        self.lock = threading.Lock()
        atexit.register(self.shutdown)

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        with self.lock:
            self.active += 1
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1
                self.last = time.monotonic()

    def shutdown(self, quiet: float = 0.2, limit: float = 3.0) -> None:
        self.exiting = True
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.lock:
                idle = self.active == 0 and time.monotonic() - self.last > quiet
            if idle:
                return
            time.sleep(0.02)


exit_guard = ExitGuard()
