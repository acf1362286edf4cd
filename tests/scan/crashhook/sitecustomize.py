"""Test-only: a NIfTI reader that dies as a segfault or the OOM killer would, on named files.

A test puts this folder first on PYTHONPATH; Python imports ``sitecustomize`` at
start-up in every process it then starts (the CLI, its forkserver and pool
workers, Dask nannies and workers), so the real reader is wrapped everywhere:

- ``die-N...``: the process reading it kills itself with signal N (9: the OOM
  killer's SIGKILL, 11: a segfault in a C reader);
- ``slow...``: reading takes ``DATACHECK_TEST_SLOW_S`` seconds (default 0.5) and
  first touches the file named by ``DATACHECK_TEST_STARTED``, so a test knows the
  scan is under way.
"""

from __future__ import annotations

import os
import time


def _install() -> None:
    try:
        from datacheck.scan import units
    except ImportError:  # a process that cannot see datacheck has nothing to patch
        return
    real = units.RUNNERS["nifti"]

    def reader(unit, *args):  # type: ignore[no-untyped-def]
        base = os.path.basename(unit.path)
        if base.startswith("die-"):
            os.kill(os.getpid(), int(base.split("-")[1].split(".")[0]))
            time.sleep(10)  # the signal is delivered before this returns
        if base.startswith("slow"):
            started = os.environ.get("DATACHECK_TEST_STARTED")
            if started:
                with open(started, "a"):
                    pass
            time.sleep(float(os.environ.get("DATACHECK_TEST_SLOW_S", "0.5")))
        return real(unit, *args)

    units.RUNNERS["nifti"] = reader


_install()
