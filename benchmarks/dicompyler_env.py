"""A virtual environment of its own for dicompyler-core 0.5.6, outside the repository.

dicompyler-core 0.5.6 (the latest release) imports
``pydicom.pixel_data_handlers``, which pydicom 3 removed, so it needs
pydicom < 3; plancheck's own environment has pydicom 3. Its other needs:
numpy, six and matplotlib (``dvhcalc`` imports ``matplotlib.path``), and
scikit-image for ``interpolation_resolution`` (``skimage.transform.rescale``
with ``channel_axis``, so scikit-image >= 0.19). It runs with numpy 2.

The environment lives in ``$PLANCHECK_BENCH_DIR`` or
``~/.cache/plancheck-bench/dicompyler-venv`` and is reused when it imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = (
    "dicompyler-core==0.5.6",
    "pydicom>=2.4,<3",
    "numpy",
    "six",
    "matplotlib",
    "scikit-image>=0.19",
    "threadpoolctl",  # only to report which BLAS kernel runs
)
_CHECK = "import dicompylercore.dvhcalc, pydicom, skimage; assert pydicom.__version__ < '3'"


def env_dir() -> Path:
    base = os.environ.get("PLANCHECK_BENCH_DIR")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "plancheck-bench"
    return root / "dicompyler-venv"


def env_python() -> Path:
    return env_dir() / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _works(python: Path) -> bool:
    if not python.exists():
        return False
    return subprocess.run([str(python), "-c", _CHECK], capture_output=True).returncode == 0


def ensure_env(log: bool = True) -> Path:
    """Create (or reuse) the environment; return its python interpreter."""
    python = env_python()
    if _works(python):
        return python
    if log:
        print(f"creating dicompyler-core environment in {env_dir()} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env_dir())], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    if not _works(python):
        raise RuntimeError(f"dicompyler-core does not import in {env_dir()}")
    return python


def env_versions(python: Path) -> dict[str, str]:
    """Installed versions of the packages that matter, for the benchmark report."""
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({p: m.version(p) for p in "
        "('dicompyler-core','pydicom','numpy','matplotlib','scikit-image')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))
