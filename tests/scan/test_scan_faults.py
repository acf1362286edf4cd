"""Faults during a scan: a worker killed mid-scan (process pool, Dask with one and two workers).

The reader is made to die through ``tests/scan/crashhook/sitecustomize.py``,
which every process started with that folder on PYTHONPATH loads; the real
worker process then dies by the signal, as under the OOM killer or a segfault.
Each test asserts that the report's inputs add up to the files on disk and
that every input that is not ok has its own reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datacheck
from tests.nifti_files import save_nifti

HOOK = str(Path(__file__).with_name("crashhook"))
ROOT = str(Path(datacheck.__file__).resolve().parents[1])
SCHEMA = {
    "name": "faults",
    "features": {"volume": {"layout": "DHWC", "normalization": "zscore", "tolerance": 0.05}},
    "nifti": {"orientation": "RAS", "spacing": [1, 1, 1]},
}


def write_scans(folder: Path, names: list[str]) -> Path:
    """Small z-scored RAS volumes; ``las*`` is misoriented, ``cut*`` is truncated."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        affine = np.diag([-1.0, 1, 1, 1]) if name.startswith("las") else np.eye(4)
        save_nifti(folder / name, rng.normal(size=(8, 8, 8)).astype(np.float32), affine)
        if name.startswith("cut"):
            (folder / name).write_bytes((folder / name).read_bytes()[:100])
    return folder


def hook_env(**more: str) -> dict[str, str]:
    """The environment of a process whose NIfTI reader obeys the crash hook."""
    path = os.pathsep.join(p for p in (HOOK, ROOT, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **more}


def assert_accounted(report: dict, folder: Path) -> dict:
    """Inputs add up to the files on disk; each input that is not ok has its own reason."""
    inputs = report["inputs"]
    assert sorted(Path(n).name for n in inputs) == sorted(os.listdir(folder))
    counts = report["counts"]
    assert counts["total"] == len(inputs) == len(os.listdir(folder))
    assert sum(v for k, v in counts.items() if k not in ("total", "skipped")) == counts["total"]
    for name, entry in inputs.items():
        if entry["status"] != "ok":
            assert name in entry["message"], (name, entry)
    return {Path(n).name: e for n, e in inputs.items()}


def test_a_killed_pool_worker_costs_only_its_unit(tmp_path: Path) -> None:
    names = [f"v{i}.nii.gz" for i in range(6)] + ["las.nii.gz", "cut.nii.gz",
                                                   "die-9.nii.gz", "die-11.nii.gz"]
    scans = write_scans(tmp_path / "scans", names)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    run = subprocess.run(
        [sys.executable, "-m", "datacheck", "check", "--schema", str(tmp_path / "schema.json"),
         str(scans), "--workers", "2", "--json", str(tmp_path / "out.json"), "-q"],
        env=hook_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    inputs = assert_accounted(report, scans)
    assert "worker died (signal 9, SIGKILL)" in inputs["die-9.nii.gz"]["message"]
    assert "worker died (signal 11, SIGSEGV)" in inputs["die-11.nii.gz"]["message"]
    for name in ("die-9.nii.gz", "die-11.nii.gz"):
        assert inputs[name]["status"] == "unreadable" and inputs[name]["codes"] == ["unreadable"]
    # The units queued behind the dead workers ran on fresh ones and were judged normally.
    assert all(inputs[f"v{i}.nii.gz"]["status"] == "ok" for i in range(6))
    assert inputs["las.nii.gz"]["status"] == "violating"
    assert inputs["las.nii.gz"]["codes"] == ["orientation"]
    assert inputs["cut.nii.gz"]["status"] == "unreadable"
    assert "worker died" not in inputs["cut.nii.gz"]["message"]
    assert report["summaries"]["volume"]["elements"] == 7


@pytest.mark.slow
@pytest.mark.parametrize("n_workers", [1, 2])
def test_a_killed_dask_worker_costs_only_its_unit(tmp_path: Path, monkeypatch,
                                                  n_workers: int) -> None:
    import dask
    from distributed import Client, LocalCluster

    from datacheck.errors import DatacheckError
    from datacheck.scan import check_paths
    from datacheck.scan.on_dask import check_roots
    from datacheck.schema import load_schema

    names = [f"v{i}.nii.gz" for i in range(4)] + ["las.nii.gz", "die-9.nii.gz"]
    scans = write_scans(tmp_path / "scans", names)
    monkeypatch.setenv("PYTHONPATH", hook_env()["PYTHONPATH"])  # nannies start workers with it
    # Dask retries a unit whose worker died on allowed-failures more workers (3 by default;
    # 1 here to keep the test short), then gives up on that unit alone.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=n_workers, processes=True, threads_per_worker=1,
                         dashboard_address=None) as cluster:
        # A relative path: the workers run in another folder, so units travel as absolute paths.
        monkeypatch.chdir(tmp_path)
        report = check_paths(["scans"], load_schema(SCHEMA),
                             scheduler=cluster.scheduler_address).to_dict()
        if n_workers == 2:
            with Client(cluster.scheduler_address, set_as_default=False) as client:
                with pytest.raises(DatacheckError, match=r"^workers cannot read /nonexistent/"
                                   r"scans: mount the same path on every worker \(\d of \d "):
                    check_roots(client, ["/nonexistent/scans"])
    inputs = assert_accounted(report, scans)
    died = inputs["die-9.nii.gz"]
    assert died["status"] == "unreadable" and died["codes"] == ["unreadable"]
    assert "worker died (2 Dask workers died running it" in died["message"]
    assert all(inputs[f"v{i}.nii.gz"]["status"] == "ok" for i in range(4))
    assert inputs["las.nii.gz"]["codes"] == ["orientation"]
    assert report["summaries"]["volume"]["elements"] == 5


def _can_unshare_mounts() -> bool:
    try:
        return subprocess.run(["unshare", "-Urm", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare_mounts(), reason="needs unshare -Urm (user and mount "
                    "namespaces) to start a Dask worker that lacks the dataset's mount")
def test_dask_workers_that_cannot_see_the_data_stop_the_scan(tmp_path: Path) -> None:
    """A worker in its own mount namespace, with an empty tmpfs over the dataset's folder:
    what a worker on another machine without the share sees."""
    from distributed import Client, LocalCluster

    scans = write_scans(tmp_path / "scans", ["v0.nii.gz", "v1.nii.gz"])
    (tmp_path.parent / f"{tmp_path.name}-schema.json").write_text(json.dumps(SCHEMA))
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        worker = subprocess.Popen(
            ["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs none '{tmp_path}' && cd / && "
             f"exec '{sys.executable}' -m distributed.cli.dask_worker {address} --nthreads 1 "
             "--no-nanny --no-dashboard"],
            env=hook_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with Client(address, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=60)
            run = subprocess.run(
                [sys.executable, "-m", "datacheck", "check", "--schema",
                 str(tmp_path.parent / f"{tmp_path.name}-schema.json"), str(scans),
                 "--scheduler", address], env=hook_env(), capture_output=True, text=True,
                timeout=120)
        finally:
            worker.terminate()
            worker.wait(30)
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"datacheck: error: workers cannot read {scans}: mount the "
                               "same path on every worker (1 of 1 workers of tcp://")


def test_a_worker_killed_between_scans_costs_no_unit(tmp_path: Path) -> None:
    """Pools are kept between scans: a worker that died while idle is replaced, and no file
    is blamed for it."""
    import signal
    import time

    from datacheck.scan import check_paths
    from datacheck.scan.pool import pool
    from datacheck.schema import load_schema

    scans = write_scans(tmp_path / "scans", [f"v{i}.nii.gz" for i in range(4)] + ["las.nii.gz"])
    first = check_paths([scans], load_schema(SCHEMA), workers=2)
    idle = list(pool(2)._idle)
    assert len(idle) == 2
    os.kill(idle[0].process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while idle[0].process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    again = check_paths([scans], load_schema(SCHEMA), workers=2)
    assert again.inputs == first.inputs
    assert [v.to_dict() for v in again.violations] == [v.to_dict() for v in first.violations]
    assert again.counts() == {"ok": 4, "violating": 1, "unreadable": 0, "total": 5, "skipped": 0}
