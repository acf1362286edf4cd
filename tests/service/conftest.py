"""A tf.data service on localhost: the dispatcher in the test process, the worker in its own.

An in-process worker shares the trainer's Python callbacks and hides
py_function breakage (FINDINGS.md), so the worker runs as a subprocess of the
venv's python. Every wait is bounded.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

tf = pytest.importorskip("tensorflow")

WORKER_SCRIPT = """\
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
config = tf.data.experimental.service.WorkerConfig(
    dispatcher_address=sys.argv[1], heartbeat_interval_ms=100)
worker = tf.data.experimental.service.WorkerServer(config)
print("worker-ready", os.getpid(), flush=True)
worker.join()
"""
START_TIMEOUT = 90.0
#: Upper bound for one job through the service (a few hundred small batches).
JOB_TIMEOUT = 60.0


@dataclass
class Service:
    target: str
    worker: subprocess.Popen[str]
    worker_pid: int
    worker_stderr: Path

    def worker_log(self) -> str:
        """What the worker process has written to stderr so far."""
        return self.worker_stderr.read_text(encoding="utf-8", errors="replace")

    def distribute(self, dataset: Any, job_name: str) -> Any:
        """Move ``dataset`` onto the service; lower the private refresh hint where it exists."""
        from tensorflow.python.data.experimental.ops import data_service_ops

        private = getattr(data_service_ops, "_distribute", None)
        if private is not None:
            return dataset.apply(private("parallel_epochs", self.target, job_name=job_name,
                                         task_refresh_interval_hint_ms=50))
        return dataset.apply(tf.data.experimental.service.distribute(
            "parallel_epochs", self.target, job_name=job_name))


def consume(dataset: Any, timeout: float = JOB_TIMEOUT) -> list[Any]:
    """All elements of ``dataset`` as numpy, or the exception iteration raised; bounded in time."""
    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            out.put(("ok", list(dataset.as_numpy_iterator())))
        except BaseException as exc:  # handed to the test thread
            out.put(("error", exc))

    threading.Thread(target=run, daemon=True).start()
    try:
        kind, value = out.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"tf.data service job did not finish within {timeout:.0f} s")
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def _wait_ready(proc: subprocess.Popen[str], timeout: float, stderr: Path) -> int:
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stream = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if line.startswith("worker-ready"):
            return int(line.split()[1])
    proc.kill()
    err = stderr.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"tf.data service worker did not start within {timeout:.0f} s: {err[-2000:]}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    dispatcher = tf.data.experimental.service.DispatchServer(
        tf.data.experimental.service.DispatcherConfig(port=0))
    address = dispatcher.target.split("://", 1)[1]
    folder = tmp_path_factory.mktemp("service")
    script, stderr = folder / "worker.py", folder / "worker.stderr"
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    # stderr goes to a file: a pipe nobody drains would block the worker once full.
    with stderr.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, str(script), address], stdout=subprocess.PIPE,
                                stderr=err, text=True,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        pid = _wait_ready(proc, START_TIMEOUT, stderr)
        yield Service(dispatcher.target, proc, pid, stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        dispatcher._stop()
