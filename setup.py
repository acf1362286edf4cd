"""Ships the top-level schemas/ folder as the package datacheck._bundled_schemas.

Everything else about the build lives in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["datacheck", "datacheck.*"]), "datacheck._bundled_schemas"],
    package_dir={"datacheck._bundled_schemas": "schemas"},
)
