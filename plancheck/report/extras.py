"""Optional dependencies: a clear error naming the extra to install when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from plancheck.errors import MissingDependencyError

__all__ = ["MissingDependencyError", "require"]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``plancheck[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # also OSError-free: libraries missing at import raise ImportError
        raise MissingDependencyError(
            f"{purpose} needs the Python package {module!r}, which is not installed ({exc})",
            hint=f"Install it with: pip install 'plancheck[{extra}]'",
        ) from exc
