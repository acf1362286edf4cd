"""Run scan units here, in worker processes (``--workers N``) or on Dask (``--scheduler``).

Results come back in unit order whatever ran them, so reports do not depend
on scheduling. Workers hold one unit (one file or pair) at a time; the
parent only keeps the small ScanResults. A worker that dies costs only the
unit it held (``datacheck.scan.pool``, ``datacheck.scan.on_dask``). With a
``stop`` flag (``datacheck.scan.interrupt``) the run ends early at a unit
boundary and yields only whole results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from datacheck.errors import DatacheckError
from datacheck.scan.collect import ScanResult
from datacheck.scan.interrupt import Interrupt
from datacheck.scan.on_dask import CONNECT_TIMEOUT_S, on_dask
from datacheck.scan.pool import pool, shutdown_pools
from datacheck.scan.units import Options, Unit, run_unit
from datacheck.schema.model import Schema

__all__ = ["CONNECT_TIMEOUT_S", "run_units", "shutdown_pools"]


def run_units(units: Sequence[Unit], schema: Schema, options: Options, *, workers: int = 1,
              scheduler: str | None = None, roots: Sequence[str] = (),
              stop: Interrupt | None = None) -> Iterator[ScanResult]:
    """Yield one ScanResult per unit, in order (fewer if ``stop`` is requested).

    ``roots`` are the dataset folders a Dask worker must be able to read.

    >>> list(run_units([], schema, Options(), workers=2))  # doctest: +SKIP
    []
    """
    if workers < 1:
        raise DatacheckError(f"workers must be >= 1, got {workers}")
    if not units:
        return iter(())
    stop = stop or Interrupt()
    if scheduler:
        return _in_order(on_dask(units, schema, options, scheduler, roots, stop), stop)
    if workers > 1 and len(units) > 1:
        size = min(workers, len(units))
        return _in_order(pool(size).run(units, schema, options, stop), stop)
    return _serial(units, schema, options, stop)


def _serial(units: Sequence[Unit], schema: Schema, options: Options,
            stop: Interrupt) -> Iterator[ScanResult]:
    for unit in units:
        if stop.requested:
            return
        try:
            stop.abandon = True  # Ctrl-C abandons this unit at once: it is reported not checked
            result = run_unit(unit, schema, options)
            stop.abandon = False
        except KeyboardInterrupt:
            stop.abandon = False
            if not stop.requested:  # not ours (no handler installed): let it through
                raise
            return
        yield result


def _in_order(finished: Iterable[tuple[int, ScanResult]],
              stop: Callable[[], bool]) -> Iterator[ScanResult]:
    """Reorder ``(position, result)`` pairs by position; on a stop, flush what arrived."""
    held: dict[int, ScanResult] = {}
    following = 0
    for position, result in finished:
        held[position] = result
        while following in held:
            yield held.pop(following)
            following += 1
    if stop():  # interrupted: later units that did finish are still whole results
        for position in sorted(held):
            yield held.pop(position)
