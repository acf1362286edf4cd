"""`import datacheck` stays light: no TensorFlow, Keras, nibabel, h5py, pandas, dask, matplotlib."""

import subprocess
import sys

HEAVY = ["tensorflow", "keras", "nibabel", "h5py", "pandas", "pandera", "dask", "distributed",
         "matplotlib", "jax", "torch"]


def _loaded_after(code: str) -> list[str]:
    probe = (f"{code}\nimport sys\n"
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_datacheck_loads_no_heavy_dependency():
    assert _loaded_after("import datacheck") == []


def test_checking_arrays_loads_no_heavy_dependency():
    code = ("import numpy as np, datacheck as dc\n"
            "dc.check((np.zeros((2, 28, 28, 1)) + .5, np.array([1, 2])), 'mnist')")
    assert _loaded_after(code) == []


def test_cli_help_and_schema_commands_load_no_heavy_dependency():
    code = ("from datacheck.cli.main import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['schema'])\n")
    assert _loaded_after(code) == []
