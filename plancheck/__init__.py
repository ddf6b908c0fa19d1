"""plancheck: independent DICOM-RT dosimetric plan evaluation.

The public Python API is what this module exports (``plancheck.__all__``)::

    import plancheck

    course = plancheck.load("sample_plans/spine_sib_pass").course
    course.metrics(["D95%[Gy]", "V20Gy[cc]"], structures=["PTV", "SpinalCord"])
    course.dvh("SpinalCord").plot()
    result = plancheck.evaluate(course, protocol="spine_sib_30Gy10_40Gy10")
    result.verdict, result.to_dict()

``docs/api.md`` documents it with worked examples, and ``CHANGELOG.md``
records every change to it. Every submodule of ``plancheck`` is internal: its
names may change in any release.

The names are imported on first use, so ``import plancheck`` (and the command
line's ``--help`` and ``--version``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ConstraintResult",
    "Course",
    "CourseError",
    "Dvh",
    "Evaluation",
    "Finding",
    "Folder",
    "InputError",
    "MetricSyntaxError",
    "MetricTable",
    "MetricUndefinedError",
    "MetricValue",
    "MissingDependencyError",
    "PlanInfo",
    "PlancheckError",
    "ProtocolError",
    "Severity",
    "StructureInfo",
    "StructureSetInfo",
    "__version__",
    "evaluate",
    "load",
]

# public name -> the internal module that defines it
_LAZY: dict[str, str] = {
    "load": "plancheck._api.course",
    "Folder": "plancheck._api.course",
    "Course": "plancheck._api.course",
    "PlanInfo": "plancheck._api.course",
    "StructureInfo": "plancheck._api.course",
    "StructureSetInfo": "plancheck._api.course",
    "Dvh": "plancheck._api.dvh",
    "MetricTable": "plancheck._api.dvh",
    "MetricValue": "plancheck._api.dvh",
    "evaluate": "plancheck._api.evaluation",
    "Evaluation": "plancheck._api.evaluation",
    "ConstraintResult": "plancheck._api.evaluation",
    "Finding": "plancheck.model",
    "Severity": "plancheck.model",
    "PlancheckError": "plancheck.errors",
    "InputError": "plancheck.errors",
    "CourseError": "plancheck.errors",
    "ProtocolError": "plancheck.errors",
    "MetricSyntaxError": "plancheck.errors",
    "MetricUndefinedError": "plancheck.errors",
    "MissingDependencyError": "plancheck.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plancheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from plancheck._api.course import (
        Course,
        Folder,
        PlanInfo,
        StructureInfo,
        StructureSetInfo,
        load,
    )
    from plancheck._api.dvh import Dvh, MetricTable, MetricValue
    from plancheck._api.evaluation import ConstraintResult, Evaluation, evaluate
    from plancheck.errors import (
        CourseError,
        InputError,
        MetricSyntaxError,
        MetricUndefinedError,
        MissingDependencyError,
        PlancheckError,
        ProtocolError,
    )
    from plancheck.model import Finding, Severity
