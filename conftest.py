"""Root conftest: lets ``python -m pytest`` collect the doctests in ``datacheck/``.

Most of the package imports only numpy, pydantic and PyYAML; the modules below import an
optional dependency at module level, so without that extra installed their doctests are
not collected (instead of a collection error that hides every other result).
"""

import importlib.util

#: Optional dependency -> modules that import it at module level (keep in step with the code:
#: tests/test_doctest_collection.py fails when a module imports one that is not listed here).
NEEDS = {
    "tensorflow": ["datacheck/backends/tf/*.py"],
    "keras": ["datacheck/normalize/layer.py", "datacheck/testing/keras_callback.py"],
    "hypothesis": ["datacheck/testing/strategies.py"],
}

collect_ignore_glob = [pattern for module, patterns in NEEDS.items()
                       if importlib.util.find_spec(module) is None for pattern in patterns]
