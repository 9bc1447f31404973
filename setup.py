"""Build the Cython kernels; all other metadata lives in pyproject.toml.

Compiler directives are set once, here. ``DQGATE_CYTHON_DEBUG=1`` turns bounds,
wraparound and initialization checks back on (for hunting a crash).

    python setup.py build_ext --inplace        # development build
"""

from __future__ import annotations

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("DQGATE_CYTHON_DEBUG") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
    "autotestdict": False,
}

EXTENSIONS = [
    Extension(f"dqgate._kernels.{name}", [f"src/dqgate/_kernels/{name}.pyx"])
    for name in ("formats", "keys", "reasons")
]

# pip runs this file three times per install (build requirements, metadata, wheel); only a
# run that compiles needs the C sources, so metadata-only runs skip regenerating them.
METADATA_ONLY = {"egg_info", "dist_info"}

setup(
    ext_modules=EXTENSIONS
    if METADATA_ONLY.intersection(sys.argv[1:])
    else cythonize(
        EXTENSIONS,
        compiler_directives=DIRECTIVES,
        include_path=["src"],
        force=True,  # the directives may have changed since the last build
    ),
)
