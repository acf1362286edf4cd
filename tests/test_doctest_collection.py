"""The root conftest skips doctest modules whose optional dependency is missing; this keeps
its list in step with what the modules import at module level."""

import ast
import fnmatch
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Extras-only packages; numpy, pydantic, PyYAML and rich are required, pytest runs the tests.
OPTIONAL = {"tensorflow", "keras", "nibabel", "h5py", "pandas", "pandera", "PIL", "sklearn",
            "cleanlab", "dask", "distributed", "matplotlib", "hypothesis", "jax"}


def _module_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _optional_needs() -> dict[str, set[str]]:
    """Module file (relative) -> optional packages it needs when imported, transitively."""
    files = {_module_name(p): p for p in (ROOT / "datacheck").rglob("*.py")}
    imports = {name: _module_level_imports(path) for name, path in files.items()}
    memo: dict[str, set[str]] = {}

    def needs(name: str, seen: frozenset[str]) -> set[str]:
        if name in memo:
            return memo[name]
        found: set[str] = set()
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        for dep in [*parents, *imports[name]]:
            if dep.split(".")[0] in OPTIONAL:
                found.add(dep.split(".")[0])
            elif dep in files and dep not in seen:
                found |= needs(dep, seen | {name})
        memo[name] = found
        return found

    return {str(files[n].relative_to(ROOT)): needs(n, frozenset()) for n in files}


def test_every_module_importing_an_extra_is_listed_in_the_root_conftest() -> None:
    spec = importlib.util.spec_from_file_location("_root_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    unlisted = [f"{path} needs {package}"
                for path, packages in _optional_needs().items() for package in packages
                if not any(fnmatch.fnmatch(path, pattern)
                           for pattern in conftest.NEEDS.get(package, []))]
    assert unlisted == [], "add these to NEEDS in conftest.py: " + "; ".join(unlisted)


def test_the_check_sees_module_level_tensorflow() -> None:
    # Guards the checker itself: the graph backend imports TensorFlow at module level.
    assert "tensorflow" in _optional_needs()["datacheck/backends/tf/views.py"]
