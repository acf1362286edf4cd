"""Run scan units in this process, in a process pool (``--workers N``) or on Dask (``--scheduler``).

Results come back in unit order whatever ran them, so reports do not depend
on scheduling. Workers hold one unit (one file or pair) at a time; the
parent only keeps the small ScanResults.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from datacheck.errors import DatacheckError, MissingDependencyError
from datacheck.scan.collect import ScanResult
from datacheck.scan.units import Options, Unit, run_unit, unreadable
from datacheck.schema.model import Schema

#: How long to wait for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10


def run_units(units: Sequence[Unit], schema: Schema, options: Options, *, workers: int = 1,
              scheduler: str | None = None) -> Iterator[ScanResult]:
    """Yield one ScanResult per unit, in order.

    >>> list(run_units([], schema, Options(), workers=2))  # doctest: +SKIP
    []
    """
    if workers < 1:
        raise DatacheckError(f"workers must be >= 1, got {workers}")
    if not units:
        return iter(())
    if scheduler:
        return _on_dask(units, schema, options, scheduler)
    if workers > 1 and len(units) > 1:
        return _in_processes(units, schema, options, min(workers, len(units)))
    return (run_unit(unit, schema, options) for unit in units)


def _lost(unit: Unit, exc: BaseException) -> ScanResult:
    """A unit whose worker died or whose task failed outside run_unit."""
    reason = RuntimeError(f"the worker checking it failed ({type(exc).__name__}: {exc}); "
                          "rerun with --workers 1 to see whether this file crashes the reader")
    result = ScanResult(unit.index, {unit.name: "unreadable"}, [unreadable(unit.name, reason)],
                        group=unit.group)
    if unit.mask_name is not None:  # the pair's mask went unchecked with it: still an input
        result.inputs[unit.mask_name] = "unreadable"
        result.violations.append(unreadable(unit.mask_name, reason))
    return result


#: Worker pools kept between scans in one process (notebooks, services), by size.
_POOLS: dict[int, Any] = {}


def _pool(workers: int) -> Any:
    """A process pool of ``workers``, reused by later scans; shut down when Python exits."""
    import atexit
    from concurrent.futures import ProcessPoolExecutor

    pool = _POOLS.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        if not _POOLS:
            atexit.register(shutdown_pools)
        pool = _POOLS[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    return pool


def shutdown_pools() -> None:
    """Stop the worker processes kept for later scans."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _in_processes(units: Sequence[Unit], schema: Schema, options: Options,
                  workers: int) -> Iterator[ScanResult]:
    pool = _pool(workers)
    futures = [pool.submit(run_unit, unit, schema, options) for unit in units]
    try:
        for unit, future in zip(units, futures, strict=True):
            try:
                yield future.result()
            except Exception as exc:  # BrokenProcessPool: a reader crashed or was OOM-killed
                yield _lost(unit, exc)
    finally:
        for future in futures:  # an abandoned scan must not keep the workers busy
            future.cancel()


def _context() -> Any:
    """forkserver where available: children fork from a clean, single-threaded server that
    has already imported the readers (about 0.2 s per pool instead of seconds for spawn), and
    never inherit the parent's threads (TensorFlow, Dask), which plain fork would copy broken.
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["datacheck.scan.units", "datacheck.scan.h5scan",
                                    "datacheck.readers.nifti", "nibabel", "h5py"])
    return context


def _check_scheme(address: str) -> None:
    """Refuse an unknown scheme before a Client exists: a failed Client lingers and prints a
    traceback from its finalizer at exit, 20 s later."""
    from distributed.comm.registry import backends

    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme not in backends:
        raise DatacheckError(
            f"--scheduler {address[:200]!r}: unknown address scheme {scheme[:40]!r} (known: "
            f"{', '.join(sorted(backends))}). Use e.g. tcp://host:8786.")


def _on_dask(units: Sequence[Unit], schema: Schema, options: Options,
             address: str) -> Iterator[ScanResult]:
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
    with client:
        shared = client.scatter([schema, options], broadcast=True)
        futures = client.map(run_unit, list(units), schema=shared[0], options=shared[1],
                             pure=False)
        for unit, future in zip(units, futures, strict=True):
            try:
                yield future.result()
            except Exception as exc:  # a worker died or the task could not be deserialized
                yield _lost(unit, exc)
            finally:
                future.release()
