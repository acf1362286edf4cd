"""Run scan units on a Dask distributed cluster (``--scheduler ADDRESS``).

Units travel with absolute paths (a worker's working folder is not ours),
and before any unit is sent every worker is asked whether it can read the
dataset roots: a cluster without the data mounted is one clear error, not a
report calling every file unreadable. At most one unit per worker thread is
in flight: when a worker dies, Dask blames every task it held, so keeping
one there means only the unit that ran is retried on other workers and, when
it kills them too (``allowed-failures``), reported alone.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from datacheck.errors import DatacheckError, MissingDependencyError
from datacheck.scan.collect import ScanResult
from datacheck.scan.pool import worker_lost
from datacheck.scan.units import Options, Unit, run_unit
from datacheck.schema.model import Schema

#: How long to wait for a Dask scheduler (and for its first worker) before giving up.
CONNECT_TIMEOUT_S = 10


def on_dask(units: Sequence[Unit], schema: Schema, options: Options, address: str,
            roots: Sequence[str], stopped: Callable[[], bool]
            ) -> Iterator[tuple[int, ScanResult]]:
    """Yield ``(position, result)`` as units finish on the cluster at ``address``."""
    client = _connect(address)
    running: dict[Any, tuple[int, Unit]] = {}
    try:
        # Roots missing here too are reported per input by the plan, not as a mount problem.
        check_roots(client, [os.path.abspath(r) for r in roots if os.path.exists(r)], address)
        queue = deque(enumerate(units))
        slots, counted = 1, 0.0
        while queue or running:
            if stopped():  # keep the results already computed; the finally cancels the rest
                for future in [f for f in running if f.status == "finished"]:
                    position, unit = running.pop(future)
                    yield position, _outcome(future, unit)
                return
            if time.monotonic() - counted > 1.0:  # workers come and go: recount now and then
                slots, counted = max(sum(client.nthreads().values()), 1), time.monotonic()
            while queue and len(running) < slots:
                position, unit = queue.popleft()
                # schema and options go with each task: scattered data dies with its worker
                future = client.submit(run_unit, _absolute(unit), schema, options, pure=False)
                running[future] = (position, unit)
            for future in _finished(list(running)):
                position, unit = running.pop(future)
                yield position, _outcome(future, unit)
                future.release()
    finally:
        if running:  # abandoned or interrupted: do not leave the cluster working for nobody
            client.cancel(list(running))
        client.close(timeout=5)


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependencyError("distributed", "dask", "--scheduler") from None
    _check_scheme(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatacheckError(
            f"cannot reach the Dask scheduler at {address} ({reason}). Start one (dask "
            "scheduler; dask worker ADDRESS) or check the address, e.g. tcp://host:8786.") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError):
        client.close()
        raise DatacheckError(f"no Dask worker is connected to the scheduler at {address}; "
                             f"start one with: dask worker {address}") from None
    return client


def _check_scheme(address: str) -> None:
    """Refuse an unknown scheme before a Client exists: a failed Client lingers and prints a
    traceback from its finalizer at exit, 20 s later."""
    from distributed.comm.registry import backends

    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme not in backends:
        raise DatacheckError(
            f"--scheduler {address[:200]!r}: unknown address scheme {scheme[:40]!r} (known: "
            f"{', '.join(sorted(backends))}). Use e.g. tcp://host:8786.")


def _readable(paths: list[str]) -> list[str]:
    """On a worker: the paths it cannot read (or list, for folders)."""
    return [p for p in paths
            if not os.access(p, os.R_OK | (os.X_OK if os.path.isdir(p) else 0))]


def check_roots(client: Any, roots: list[str], address: str = "the cluster") -> None:
    """Raise DatacheckError (one line) when a worker cannot read one of ``roots``.

    >>> check_roots(client, ["/data/scans"])  # doctest: +SKIP
    DatacheckError: workers cannot read /data/scans: mount the same path on every worker ...
    """
    if not roots:
        return
    answers = client.run(_readable, roots)
    blind = {worker: missing for worker, missing in answers.items() if missing}
    if blind:
        worker, missing = sorted(blind.items())[0]
        raise DatacheckError(
            f"workers cannot read {missing[0]}: mount the same path on every worker "
            f"({len(blind)} of {len(answers)} workers of {address} cannot, e.g. {worker})")


def _absolute(unit: Unit) -> Unit:
    # The root too: a worker's working directory is not ours, and the gate confines to it.
    return replace(unit, path=os.path.abspath(unit.path),
                   mask=None if unit.mask is None else os.path.abspath(unit.mask),
                   root=None if unit.root is None else os.path.abspath(unit.root))


def _finished(futures: list[Any]) -> list[Any]:
    """The futures done now; none done: pause briefly (the caller looks at its stop flag)."""
    done = [f for f in futures if f.done()]
    if not done:
        time.sleep(0.02)
    return done


def _outcome(future: Any, unit: Unit) -> ScanResult:
    """The unit's result, or the reason it has none (its workers died, the task failed)."""
    from distributed.scheduler import KilledWorker

    if future.status == "finished":
        try:
            return future.result()  # type: ignore[no-any-return]
        except Exception as lost:  # its result was lost with a worker and could not be rebuilt
            return worker_lost(unit, f"its Dask result was lost ({type(lost).__name__}: {lost})")
    if future.status == "cancelled":
        return worker_lost(unit, "the task was cancelled by the Dask scheduler")
    error = future.exception()
    if isinstance(error, KilledWorker):
        tries = error.allowed_failures + 1
        return worker_lost(unit, f"worker died ({tries} Dask workers died running it, "
                                 "none finished it)")
    return worker_lost(unit, f"the Dask task failed ({type(error).__name__}: {error})")
