"""Ctrl-C during `python -m datacheck check`: exit 130 within seconds, with a partial report.

The scan is made slow through ``tests/scan/crashhook`` (each ``slow*`` file takes
0.5 s to read and the first read touches a marker), so SIGINT arrives while
units are being checked, in this process (``--workers 1``) and in workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scan.test_scan_faults import SCHEMA, assert_accounted, hook_env, write_scans

FILES = 16


def start_scan(tmp_path: Path, workers: int, *more: str) -> tuple[subprocess.Popen, Path]:
    scans = write_scans(tmp_path / "scans", [f"slow{i:02d}.nii.gz" for i in range(FILES)])
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    started = tmp_path / "started"
    proc = subprocess.Popen(
        [sys.executable, "-m", "datacheck", "check", "--schema", str(tmp_path / "schema.json"),
         str(scans), "--workers", str(workers), "--json", str(tmp_path / "out.json"), *more],
        env=hook_env(DATACHECK_TEST_STARTED=str(started), COLUMNS="200"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not started.exists():  # the scan is under way: a unit is being read
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the scan did not start"
        time.sleep(0.05)
    time.sleep(1.2)  # let a unit or two finish, so the partial report holds some
    return proc, scans


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_with_a_partial_report(tmp_path: Path, workers: int) -> None:
    proc, scans = start_scan(tmp_path, workers)
    interrupt_and_check(proc, scans, tmp_path)


@pytest.mark.slow
def test_ctrl_c_stops_a_dask_scan_with_a_partial_report(tmp_path: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    # The workers read slowly too, and mark the start of the scan.
    monkeypatch.setenv("PYTHONPATH", hook_env()["PYTHONPATH"])
    monkeypatch.setenv("DATACHECK_TEST_STARTED", str(tmp_path / "started"))
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        proc, scans = start_scan(tmp_path, 1, "--scheduler", cluster.scheduler_address)
        interrupt_and_check(proc, scans, tmp_path)


def interrupt_and_check(proc: subprocess.Popen, scans: Path, tmp_path: Path) -> None:
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < 3.0, f"stopping took {took:.1f} s"
    assert "Traceback" not in err
    assert "INTERRUPTED:" in out and "not checked" in out
    report = json.loads((tmp_path / "out.json").read_text())
    inputs = assert_accounted(report, scans)
    assert report["ok"] is False
    statuses = [entry["status"] for entry in inputs.values()]
    assert set(statuses) <= {"ok", "not_checked"}
    assert 0 < statuses.count("not_checked") < FILES
    assert report["counts"]["not_checked"] == statuses.count("not_checked")
    for name, entry in inputs.items():
        if entry["status"] == "not_checked":
            assert entry["message"] == (f"{scans}/{name}: not checked: the scan was interrupted "
                                        "(Ctrl-C) before it was checked")
    assert "rules about the whole dataset" in report["stats"]["notes"][-1]
    assert "rules about the whole dataset" in out
    # What was checked is in the summary; no dataset-scope finding was made from a part.
    assert report["summaries"]["volume"]["elements"] == statuses.count("ok")
    assert all(v["input"] is not None for v in report["violations"])


@pytest.mark.parametrize(("workers", "gap"), [(1, 0.1), (2, 0.01), (2, 0.3)])
def test_a_second_ctrl_c_prints_no_traceback(tmp_path: Path, workers: int, gap: float) -> None:
    proc, _ = start_scan(tmp_path, workers)
    proc.send_signal(signal.SIGINT)
    time.sleep(gap)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    # 130, or killed by SIGINT itself when it lands while Python finalizes (handlers are
    # reset to the default then): a shell shows 130 for both, and nothing is printed.
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
