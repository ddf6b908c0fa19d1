"""The environment every timed process of the benchmarks runs in, the same for each tool.

* Bytecode is cached (``PYTHONDONTWRITEBYTECODE`` removed) under a folder of
  the benchmark's own (``PYTHONPYCACHEPREFIX``), as on an installed system
  where every module is compiled once: the untimed warm-up run compiles, the
  timed runs read the cache. A development shell that sets
  ``PYTHONDONTWRITEBYTECODE=1`` would otherwise make every process compile
  plancheck's modules from source (about 40 ms of CPU per run), while
  dicompyler-core's installed modules have their caches.
* ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed (they force a
  slower OpenBLAS kernel on current numpy), unless asked to keep them.
"""

from __future__ import annotations

import os
from pathlib import Path

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def timing_env(pycache_dir: Path, *, keep_openblas: bool = False) -> dict[str, str]:
    """A copy of ``os.environ`` for timed processes (see the module docstring)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache_dir)
    if not keep_openblas:
        for var in OPENBLAS_VARS:
            env.pop(var, None)
    return env


def describe(env: dict[str, str]) -> str:
    """One line for the report: how the timed processes' environment was set."""
    kept = any(v in env for v in OPENBLAS_VARS)
    return (
        "bytecode cached (compiled in the warm-up run); "
        f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE {'kept' if kept else 'removed'}"
    )
