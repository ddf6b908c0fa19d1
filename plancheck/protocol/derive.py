"""Building the structure a protocol structure resolved to, for the DVH engine.

A :class:`~plancheck.protocol.matching.StructureMatch` is either an ROI of
the structure set or a derived expression over ROI names; this module turns
either into a :class:`~plancheck.model.Structure` with the contour operations
of :mod:`plancheck.geometry.derived` (``A - B`` difference, ``A + B`` union,
``A & B`` intersection, ``A + 5mm`` / ``A - 3mm`` 3-D margins). Derived
structures carry the ``derived-structure`` finding of those operations.

A margin does not reach beyond the planes of the structure set (the extent of
the images it was drawn on), as in planning systems' margin tools: a cord
contoured to the last CT slice gives a PRV that ends there too, not 5 mm
beyond the scan where no dose was computed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from plancheck.geometry.derived import difference, expand, intersection, union
from plancheck.geometry.lattice import PlaneLattice
from plancheck.model import EndCaps, Structure
from plancheck.protocol.expressions import BooleanOp, Expr, Margin, RoiName
from plancheck.protocol.matching import StructureMatch

__all__ = ["build_structure"]


def _build(
    expr: Expr,
    rois: Mapping[str, Structure],
    name: str,
    end_caps: EndCaps,
    lattice: PlaneLattice | None = None,
) -> Structure:
    if isinstance(expr, RoiName):
        return rois[expr.name]
    if isinstance(expr, Margin):
        operand = _build(expr.operand, rois, name, end_caps, lattice)
        return expand(operand, expr.margin_mm, name, end_caps=end_caps, lattice=lattice)
    a = _build(expr.left, rois, name, end_caps, lattice)
    b = _build(expr.right, rois, name, end_caps, lattice)
    op = {
        BooleanOp.DIFFERENCE: difference,
        BooleanOp.UNION: union,
        BooleanOp.INTERSECTION: intersection,
    }[expr.op]
    return op(a, b, name, end_caps=end_caps, lattice=lattice)


def build_structure(
    match: StructureMatch,
    rois: Mapping[str, Structure],
    end_caps: EndCaps = EndCaps.HALF,
    lattice: PlaneLattice | None = None,
) -> Structure:
    """The structure to compute a DVH on.

    Parameters
    ----------
    match
        A matched or derived structure (``match.usable``).
    rois
        The structure set's ROIs by name.
    end_caps
        The end-cap convention, as for the DVH engine.
    lattice
        The structure set's plane lattice (in the ROIs' frame), as for the
        DVH engine.

    Raises
    ------
    ValueError
        If ``match`` is missing or ambiguous (it has nothing to build).
    """
    if match.roi_name is not None:
        return rois[match.roi_name]
    if match.derived is None:
        raise ValueError(f"structure {match.structure!r} is {match.status.value}: nothing to build")
    built = _build(match.derived.expression, rois, match.structure, end_caps, lattice)
    if not _has_margin(match.derived.expression):
        return built
    return _within_structure_set(built, rois)


def _has_margin(expr: Expr) -> bool:
    if isinstance(expr, Margin):
        return True
    if isinstance(expr, RoiName):
        return False
    return _has_margin(expr.left) or _has_margin(expr.right)


def _within_structure_set(s: Structure, rois: Mapping[str, Structure]) -> Structure:
    """``s`` without planes beyond the first and last contour planes of the structure set."""
    zs = [p.z_mm for r in rois.values() for p in r.planes]
    if not zs or not s.planes:
        return s
    low, high = min(zs) - 1e-3, max(zs) + 1e-3
    kept = tuple(p for p in s.planes if low <= p.z_mm <= high)
    if len(kept) == len(s.planes) or not kept:
        return s
    return dataclasses.replace(s, planes=kept)
