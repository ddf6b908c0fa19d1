"""Finding the mapping between two frames of reference among registration objects.

:func:`find_registration` returns the mapping from one frame of reference to
another, or raises :class:`~plancheck.registration.records.RegistrationError`
saying why none can be given. It never assumes that two frames coincide:

* the same frame of reference on both sides is the identity, with a note
  saying so (no registration is needed or used);
* otherwise one registration object must link both frames: both are items of
  it, or one of them is its own frame (the Registered RCS). Through a rigid
  Spatial Registration, ``A → B = (B → R)⁻¹ · (A → R)``. A Deformable Spatial
  Registration maps points of its Registered RCS into a source frame; it can
  be used in that direction only (a vector grid is not inverted), after a
  matrix from the from-frame into the Registered RCS where needed.
* chains through several registration objects are not followed;
* when several objects link the frames, their mappings must agree within
  :data:`AGREEMENT_MM` over the region of interest, and they must be of one
  kind; otherwise the choice is the user's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from plancheck.registration.mapping import (
    DeformableMapping,
    MatrixMapping,
    PointMapping,
    RegistrationStep,
)
from plancheck.registration.matrix import MatrixType, apply_matrix, least_constrained
from plancheck.registration.records import (
    DeformableItem,
    DeformableRegistration,
    Registration,
    RegistrationError,
    RegistrationItem,
    SpatialRegistration,
)

__all__ = ["AGREEMENT_MM", "find_registration"]

FloatArray = npt.NDArray[np.float64]

# Two registrations linking the same frames are taken as one only when they map
# every point of the region within this distance of each other.
AGREEMENT_MM = 0.05
# Default region for that comparison: a cube of this half-width about the origin.
DEFAULT_REGION_HALF_WIDTH_MM = 250.0

_HINT = (
    "Export the registration between the two image sets from the planning or registration "
    "system as a DICOM Spatial Registration object (modality REG) and put it in one of the "
    "course folders, or give it with --registration FILE. plancheck never assumes that two "
    "frames of reference coincide."
)


def find_registration(
    registrations: Sequence[Registration],
    from_frame_uid: str,
    to_frame_uid: str,
    *,
    from_label: str = "",
    to_label: str = "",
    region_mm: npt.ArrayLike | None = None,
) -> PointMapping:
    """The mapping of patient coordinates from ``from_frame_uid`` to ``to_frame_uid``.

    Parameters
    ----------
    registrations : sequence of SpatialRegistration or DeformableRegistration
        Every registration object available (read with
        :func:`plancheck.dicom.registration.read_registration`).
    from_frame_uid, to_frame_uid : str
        The frames of reference. To sample a prior course's dose at the
        current course's points, ask for current → prior.
    from_label, to_label : str
        What each frame belongs to ("current course", "prior course"), for
        messages and notes.
    region_mm : array_like, shape (n, 3), optional
        Points of the from-frame where agreement between several
        registrations matters (for example the corners of the current dose
        grid); by default the corners of a 500 mm cube about the origin.

    Returns
    -------
    MatrixMapping or DeformableMapping

    Raises
    ------
    RegistrationError
        When no registration links the frames, when the ones that do
        disagree or are of different kinds, or when the only link is a
        deformation in the wrong direction.
    """
    a, b = _named(from_frame_uid, from_label), _named(to_frame_uid, to_label)
    if from_frame_uid == to_frame_uid:
        return MatrixMapping(
            from_frame_uid,
            to_frame_uid,
            np.eye(4),
            None,
            (),
            f"{from_label or 'the from-frame'} and {to_label or 'the to-frame'} share frame of "
            f"reference {from_frame_uid}: their patient coordinates are the same, so no "
            "registration is needed and none is used",
        )
    unique = _unique(registrations)
    found: list[tuple[Registration, PointMapping]] = []
    reasons: list[str] = []
    for reg in unique:
        result = _link(reg, from_frame_uid, to_frame_uid, a, b)
        if isinstance(result, str):
            reasons.append(f"{_where(reg)}: {result}")
        else:
            found.append((reg, result))
    if not found:
        listing = " ".join(reasons) if reasons else "No registration object was found."
        raise RegistrationError(
            f"no registration links {a} and {b}. {listing}"
            + (
                " Chains through several registration objects are not followed."
                if len(unique) > 1
                else ""
            ),
            hint=_HINT,
        )
    if len(found) == 1:
        return found[0][1]
    return _choose(found, a, b, region_mm)


def _named(uid: str, label: str) -> str:
    return f"the {label} (frame of reference {uid})" if label else f"frame of reference {uid}"


def _where(reg: Registration) -> str:
    return str(reg.path) if reg.path is not None else f"registration {reg.sop_instance_uid}"


def _unique(registrations: Sequence[Registration]) -> list[Registration]:
    """One object per SOP Instance UID; the same UID with different content is refused."""
    seen: dict[str, Registration] = {}
    for reg in registrations:
        other = seen.get(reg.sop_instance_uid)
        if other is None:
            seen[reg.sop_instance_uid] = reg
            continue
        if not _same_content(reg, other):
            raise RegistrationError(
                f"{_where(reg)} and {_where(other)} share the SOP Instance UID "
                f"{reg.sop_instance_uid} but hold different registrations",
                hint="Keep the one that was exported last and remove the other.",
            )
    return list(seen.values())


def _same_content(r1: Registration, r2: Registration) -> bool:
    if type(r1) is not type(r2) or r1.frame_of_reference_uid != r2.frame_of_reference_uid:
        return False
    if len(r1.items) != len(r2.items):
        return False
    items1: Sequence[RegistrationItem | DeformableItem] = r1.items
    items2: Sequence[RegistrationItem | DeformableItem] = r2.items
    for i1, i2 in zip(items1, items2, strict=True):
        if not np.allclose(i1.matrix, i2.matrix, rtol=0.0, atol=1e-9):
            return False
        if isinstance(i1, DeformableItem) and isinstance(i2, DeformableItem):
            g1, g2 = i1.grid, i2.grid
            if (g1 is None) != (g2 is None):
                return False
            if (
                g1 is not None
                and g2 is not None
                and not (
                    g1.vectors_mm.shape == g2.vectors_mm.shape
                    and np.array_equal(g1.vectors_mm, g2.vectors_mm, equal_nan=True)
                )
            ):
                return False
    return True


# -- one registration object -----------------------------------------------------------


def _link(reg: Registration, a_uid: str, b_uid: str, a: str, b: str) -> PointMapping | str:
    """The mapping a → b through ``reg``, or the reason it cannot give one."""
    linked = sorted(reg.frames)
    if a_uid not in reg.frames or b_uid not in reg.frames:
        missing = " and ".join(x for x, uid in ((a, a_uid), (b, b_uid)) if uid not in reg.frames)
        what = "a rigid" if isinstance(reg, SpatialRegistration) else "a deformable"
        extra = ""
        if isinstance(reg, SpatialRegistration) and reg.unresolved:
            extra = " (" + "; ".join(reg.unresolved) + ")"
        return f"{what} registration of frames of reference {', '.join(linked)}; it does not include {missing}{extra}."
    if isinstance(reg, SpatialRegistration):
        return _rigid(reg, a_uid, b_uid, a, b)
    return _deformable(reg, a_uid, b_uid, a, b)


def _rigid(reg: SpatialRegistration, a_uid: str, b_uid: str, a: str, b: str) -> MatrixMapping:
    steps: list[RegistrationStep] = []
    types: list[MatrixType] = []
    a_to_r: FloatArray = np.eye(4)
    item = reg.item_for(a_uid)
    if item is not None:
        a_to_r = item.matrix
        steps.append(_rigid_step(reg, item.index, a_uid, item.matrix, item.matrix_type, False))
        types.append(item.matrix_type)
    r_to_b: FloatArray = np.eye(4)
    item_b = reg.item_for(b_uid)
    if item_b is not None:
        r_to_b = _inverse(item_b.matrix)
        steps.append(_rigid_step(reg, item_b.index, b_uid, item_b.matrix, item_b.matrix_type, True))
        types.append(item_b.matrix_type)
    route = (
        "directly"
        if reg.frame_of_reference_uid in (a_uid, b_uid)
        else f"through its own frame of reference {reg.frame_of_reference_uid}"
    )
    return MatrixMapping(
        a_uid,
        b_uid,
        r_to_b @ a_to_r,
        least_constrained(types),
        tuple(steps),
        f"{a} mapped to {b} by the rigid Spatial Registration {_where(reg)} "
        f"(SOP Instance UID {reg.sop_instance_uid}), {route}",
    )


def _inverse(matrix: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.inv(matrix), dtype=np.float64)


def _rigid_step(
    reg: SpatialRegistration,
    index: int,
    source: str,
    matrix: FloatArray,
    matrix_type: MatrixType,
    inverted: bool,
) -> RegistrationStep:
    return RegistrationStep(
        "rigid",
        None if reg.path is None else str(reg.path),
        reg.sop_instance_uid,
        index,
        source,
        reg.frame_of_reference_uid,
        matrix,
        matrix_type,
        inverted,
    )


def _deformable(
    reg: DeformableRegistration, a_uid: str, b_uid: str, a: str, b: str
) -> PointMapping | str:
    r_uid = reg.frame_of_reference_uid
    steps: list[RegistrationStep] = []
    # a -> R: the identity, or an item without a grid used inverted
    into: FloatArray = np.eye(4)
    item_a = reg.item_for(a_uid) if a_uid != r_uid else None
    if item_a is not None:
        if not item_a.is_matrix_only:
            return (
                f"a deformable registration whose vector grid maps points of its frame of "
                f"reference {r_uid} into {a}; the way from {a} into {r_uid} would need the "
                "inverse of the deformation, which plancheck does not compute. A deformable "
                f"registration with {a} as its own frame of reference (the registered image "
                "set) is needed."
            )
        into = _inverse(item_a.matrix)
        steps.append(_deformable_step(reg, item_a, inverted=True))
    item_b = reg.item_for(b_uid) if b_uid != r_uid else None
    if item_b is None:  # b is the Registered RCS itself
        return MatrixMapping(
            a_uid,
            b_uid,
            into,
            least_constrained(s.matrix_type for s in steps),
            tuple(steps),
            f"{a} mapped to {b} by the matrix of the Deformable Spatial Registration "
            f"{_where(reg)} (SOP Instance UID {reg.sop_instance_uid}), item without a vector grid",
        )
    steps.append(_deformable_step(reg, item_b, inverted=False))
    if item_b.is_matrix_only:
        return MatrixMapping(
            a_uid,
            b_uid,
            item_b.matrix @ into,
            least_constrained(s.matrix_type for s in steps),
            tuple(steps),
            f"{a} mapped to {b} by the matrices of the Deformable Spatial Registration "
            f"{_where(reg)} (SOP Instance UID {reg.sop_instance_uid}); no vector grid is involved",
        )
    return DeformableMapping(
        a_uid,
        b_uid,
        into,
        item_b.pre_matrix,
        item_b.grid,
        item_b.post_matrix,
        tuple(steps),
        f"{a} mapped to {b} by the Deformable Spatial Registration {_where(reg)} "
        f"(SOP Instance UID {reg.sop_instance_uid}), item {item_b.index}: trilinear "
        "interpolation of its deformation vector grid; points off the grid are not mapped",
    )


def _deformable_step(
    reg: DeformableRegistration, item: DeformableItem, inverted: bool
) -> RegistrationStep:
    return RegistrationStep(
        "deformable",
        None if reg.path is None else str(reg.path),
        reg.sop_instance_uid,
        item.index,
        item.source_frame_uid,
        reg.frame_of_reference_uid,
        item.matrix,
        item.matrix_type,
        inverted,
        has_vector_grid=item.grid is not None,
    )


# -- several objects link the frames ----------------------------------------------------


def _choose(
    found: list[tuple[Registration, PointMapping]],
    a: str,
    b: str,
    region_mm: npt.ArrayLike | None,
) -> PointMapping:
    listing = "; ".join(f"{_where(reg)} ({m.kind})" for reg, m in found)
    mappings = [m for _, m in found]
    if not all(isinstance(m, MatrixMapping) for m in mappings):
        raise RegistrationError(
            f"{len(found)} registrations link {a} and {b}, not all of them matrices: {listing}. "
            "plancheck does not choose between a rigid and a deformable registration, or "
            "between deformations",
            hint="Give the one to use with --registration FILE.",
        )
    region = _region(region_mm)
    first = mappings[0]
    assert isinstance(first, MatrixMapping)
    reference = first.map_points(region)
    worst = 0.0
    for m in mappings[1:]:
        assert isinstance(m, MatrixMapping)
        worst = max(worst, float(np.max(np.linalg.norm(m.map_points(region) - reference, axis=1))))
    if worst > AGREEMENT_MM:
        raise RegistrationError(
            f"{len(found)} registrations link {a} and {b} and disagree by up to {worst:.3g} mm "
            f"over the region compared: {listing}",
            hint="Give the one to use with --registration FILE.",
        )
    return MatrixMapping(
        first.from_frame_uid,
        first.to_frame_uid,
        first.matrix,
        first.matrix_type,
        first.steps,
        f"{first.note}; {len(found) - 1} other registration object(s) link the same frames and "
        f"agree within {worst:.2g} mm ({listing})",
    )


def _region(region_mm: npt.ArrayLike | None) -> FloatArray:
    if region_mm is None:
        h = DEFAULT_REGION_HALF_WIDTH_MM
        corners = np.array(np.meshgrid([-h, h], [-h, h], [-h, h], indexing="ij")).reshape(3, -1).T
        return np.asarray(corners, dtype=np.float64)
    region = np.asarray(region_mm, dtype=np.float64).reshape(-1, 3)
    if region.size == 0:
        raise ValueError("region_mm holds no points")
    return apply_matrix(np.eye(4), region)
