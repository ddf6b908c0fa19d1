"""The prior courses of a batch: a small YAML file mapping plan folders to their priors.

Format (paths relative to the batch ROOT, or absolute)::

    plans:
      - plan: patient_A/sbrt_2024          # the current course's folder
        priors: [patient_A/conv_2023]      # one or more prior course folders
        registration: [patient_A/reg.dcm]  # optional: REG files besides those in the folders
        prior_dates: [2023-01-27]          # optional: one per prior (--prior-date)
        prior_recovery: 0                  # optional: percent (--prior-recovery); none by default

:func:`load_prior_map` checks every folder and file exists and returns one
:class:`~plancheck.reirradiation.request.PriorRequest` per plan folder,
keyed by the folder relative to ROOT (POSIX), as the batch names its plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plancheck.errors import InputError
from plancheck.reirradiation.request import PriorRequest

__all__ = ["load_prior_map", "prior_request_for"]

_KEYS = {"plan", "priors", "registration", "prior_dates", "prior_recovery"}


def _resolve(root: Path, text: Any, what: str, where: str, *, folder: bool) -> Path:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: {what} must be a path, got {text!r}")
    path = Path(text)
    path = (path if path.is_absolute() else root / path).resolve()
    if folder and not path.is_dir():
        raise InputError(f"{where}: {what} {text!r} is not a folder under {root}")
    if not folder and not path.is_file():
        raise InputError(f"{where}: {what} {text!r} is not a file")
    return path


def _paths(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load_prior_map(path: Path, root: Path) -> dict[str, PriorRequest]:
    """The prior courses of each plan folder named in the file at ``path``.

    Raises
    ------
    InputError
        When the file is not of the format above, names a missing folder or
        file, or names a plan folder twice.
    """
    path = Path(path)
    root = Path(root).resolve()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"the prior-course mapping {path} cannot be read: {exc}") from None
    entries = doc.get("plans") if isinstance(doc, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: expected a 'plans:' list of {{plan, priors, ...}} entries")
    out: dict[str, PriorRequest] = {}
    for i, entry in enumerate(entries, start=1):
        where = f"{path}, entry {i}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where}: expected a mapping with 'plan' and 'priors'")
        unknown = set(entry) - _KEYS
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(sorted(_KEYS))}")
        plan = _resolve(root, entry.get("plan"), "plan", where, folder=True)
        priors = tuple(_resolve(root, p, "prior", where, folder=True) for p in _paths(entry.get("priors")))
        if not priors:
            raise InputError(f"{where}: no prior folder ('priors: [FOLDER]')")
        registrations = tuple(
            _resolve(root, r, "registration", where, folder=False) for r in _paths(entry.get("registration"))
        )
        dates = tuple(str(d) for d in _paths(entry.get("prior_dates")))
        try:
            request = PriorRequest(priors, registrations, dates, float(entry.get("prior_recovery") or 0.0))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        key = plan.relative_to(root).as_posix() if plan.is_relative_to(root) else str(plan)
        if key in out:
            raise InputError(f"{where}: plan folder {key!r} is named twice")
        out[key] = request
    return out


def prior_request_for(priors: Mapping[str, PriorRequest] | None, folder: Path, root: Path) -> PriorRequest | None:
    """The prior courses the mapping gives a batch plan folder, if any."""
    if not priors:
        return None
    folder, root = Path(folder).resolve(), Path(root).resolve()
    key = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    return priors.get(key)
