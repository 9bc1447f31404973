"""Build the Cython kernels; all other metadata lives in pyproject.toml.

Compiler directives are set once, here. ``DQGATE_CYTHON_DEBUG=1`` turns bounds,
wraparound and initialization checks back on (for hunting a crash).

    python setup.py build_ext --inplace        # development build

build_ext also builds the native DuckDB extension (``build_native.py``).
"""

from __future__ import annotations

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_native  # noqa: E402  (beside this file)

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



class BuildExt(build_ext):
    """The Cython modules, then the DuckDB extension, which is a plain shared library."""

    def run(self) -> None:
        super().run()
        build_native.build(self, "src" if self.inplace else self.build_lib)


# pip runs this file three times per install (build requirements, metadata, wheel); only a
# run that compiles needs the C sources, so metadata-only runs skip regenerating them.
METADATA_ONLY = {"egg_info", "dist_info"}

setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=EXTENSIONS
    if METADATA_ONLY.intersection(sys.argv[1:])
    else cythonize(
        EXTENSIONS,
        compiler_directives=DIRECTIVES,
        include_path=["src"],
        force=True,  # the directives may have changed since the last build
    ),
)
