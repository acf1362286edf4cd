"""Worker processes that each check one unit at a time, so a dead worker costs only its unit.

``concurrent.futures.ProcessPoolExecutor`` marks every queued future broken
when one worker dies (a reader segfault, the OOM killer), and cannot say
which unit the dead worker held. Here each worker has its own pipe and the
parent knows which unit each one is running: when a worker dies, that unit
alone is reported (``worker died (signal 9)``), a fresh worker takes its
place and the queued units are checked normally.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from datacheck.errors import DataError
from datacheck.rules.files import unreadable
from datacheck.scan.collect import ScanResult
from datacheck.scan.units import Options, Unit, run_unit
from datacheck.schema.model import Schema

#: Seconds between looks at the stop flag while waiting for workers (Ctrl-C latency).
POLL_S = 0.2


def _serve(conn: Any) -> None:
    """Worker loop: receive (unit, schema, options), send ("ok", result) or ("error", text)."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if task is None:
            return
        try:
            conn.send(("ok", run_unit(*task)))
        except (EOFError, BrokenPipeError):
            return
        except BaseException as exc:  # a result that cannot be pickled, an internal error
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    process: Any
    conn: Any

    def stop(self) -> None:
        """Kill at once (a worker abandoned mid-unit must not keep reading) and reap it."""
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


class WorkerPool:
    """``size`` worker processes, started on demand and kept between scans.

    >>> pool = WorkerPool(2)  # doctest: +SKIP
    >>> [pos for pos, _ in pool.run(units, schema, Options(), lambda: False)]  # doctest: +SKIP
    [1, 0, 2]
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Worker] = []

    def _spawn(self) -> _Worker:
        context = _context()
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_serve, args=(child_end,), daemon=True)
        process.start()
        child_end.close()  # so that the parent sees EOF when the worker dies
        return _Worker(process, parent_end)

    def run(self, units: Sequence[Unit], schema: Schema, options: Options,
            stopped: Callable[[], bool]) -> Iterator[tuple[int, ScanResult]]:
        """Yield ``(position, result)`` as units finish; stop early once ``stopped()``."""
        from multiprocessing.connection import wait

        queue = deque(enumerate(units))
        busy: dict[Any, tuple[_Worker, int, Unit]] = {}
        try:
            while queue or busy:
                if stopped():  # keep the results already sent; the finally stops the rest
                    for ready in wait(list(busy), timeout=0):
                        worker, position, unit = busy.pop(ready)
                        answer = _receive(worker)
                        if answer is not None and isinstance(answer[1], ScanResult):
                            self._idle.append(worker)
                            yield position, answer[1]
                    return
                while queue and len(busy) < self.size:
                    self._feed(self._take(), queue, busy, (schema, options))
                for ready in wait(list(busy), timeout=POLL_S):
                    worker, position, unit = busy.pop(ready)
                    answer = _receive(worker)
                    if answer is None:  # the worker died holding this unit
                        yield position, worker_lost(unit, _death(worker.process.exitcode))
                        continue
                    # The next unit goes out before this result is merged: no idle worker.
                    self._feed(worker, queue, busy, (schema, options))
                    kind, payload = answer
                    yield position, (payload if kind == "ok" and isinstance(payload, ScanResult)
                                     else worker_lost(unit, f"the worker failed ({payload})"))
        finally:
            for worker, _, _ in busy.values():  # abandoned or interrupted: stop what runs
                worker.stop()

    def _feed(self, worker: _Worker, queue: deque[tuple[int, Unit]],
              busy: dict[Any, tuple[_Worker, int, Unit]], settings: tuple[Schema, Options]
              ) -> None:
        """Send ``worker`` the next queued unit, or keep it idle when none is left."""
        if not queue:
            self._idle.append(worker)
            return
        position, unit = queue.popleft()
        try:
            worker.conn.send((unit, *settings))
        except OSError:  # it died while idle: not this unit's fault, the unit goes back
            queue.appendleft((position, unit))
            worker.stop()
            return
        busy[worker.conn] = (worker, position, unit)

    def _take(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            worker.stop()
        return self._spawn()

    def close(self) -> None:
        """Ask idle workers to exit and reap them."""
        while self._idle:
            worker = self._idle.pop()
            try:
                worker.conn.send(None)
                worker.process.join(5)
            except OSError:
                pass
            worker.stop()


def _receive(worker: _Worker) -> tuple[str, Any] | None:
    """The worker's answer, or None (and the worker reaped) when it died instead."""
    try:
        kind, payload = worker.conn.recv()
    except (EOFError, OSError):
        worker.stop()
        return None
    return kind, payload


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"worker died (signal {-exitcode}, {name})"
    return f"worker died (exit code {exitcode})"


def worker_lost(unit: Unit, why: str) -> ScanResult:
    """The result of a unit whose worker died or failed: that unit alone is unreadable."""
    reason = DataError(f"{unit.name}: unreadable: {why} while checking it; the other inputs "
                       "were not affected. The out-of-memory killer (SIGKILL) or a reader crash "
                       "on this file does this: lower --max-bytes, use fewer workers, or check "
                       "the file with its own tools.")
    result = ScanResult(unit.index, {unit.name: "unreadable"}, [unreadable(unit.name, reason)],
                        group=unit.group)
    if unit.mask_name is not None:  # the pair's mask went unchecked with it: still an input
        mask_reason = DataError(f"{unit.mask_name}: unreadable: not checked, the {why} while "
                                f"checking its image {unit.name}.")
        result.inputs[unit.mask_name] = "unreadable"
        result.violations.append(unreadable(unit.mask_name, mask_reason))
    return result


def _context() -> Any:
    """forkserver where available: children fork from a clean, single-threaded server that
    has already imported the readers (about 0.2 s per worker instead of seconds for spawn), and
    never inherit the parent's threads (TensorFlow, Dask), which plain fork would copy broken.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["datacheck.scan.units", "datacheck.scan.h5scan",
                                    "datacheck.readers.nifti", "nibabel", "h5py"])
    return context


#: Pools kept between scans in one process (notebooks, services), by size.
_POOLS: dict[int, WorkerPool] = {}


def pool(size: int) -> WorkerPool:
    """The pool of ``size`` workers, reused by later scans; closed when Python exits."""
    found = _POOLS.get(size)
    if found is None:
        if not _POOLS:
            import atexit

            atexit.register(shutdown_pools)
        found = _POOLS[size] = WorkerPool(size)
    return found


def shutdown_pools() -> None:
    """Stop the worker processes kept for later scans."""
    while _POOLS:
        _POOLS.popitem()[1].close()

