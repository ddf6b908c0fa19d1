"""Re-irradiation phantoms: the REG maps points as the known transform does, and the
written doses and contours are the closed forms they were made from.

Every expected number comes from the phantom's definition: the transform
``current_to_prior`` of each variant, the closed-form dose fields and the
elliptic cylinders of the module docstring.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from plancheck.dicom.dates import read_treatment_dates
from plancheck.dicom.registration import read_registration
from plancheck.dicom.rtdose import read_rtdose
from plancheck.dicom.rtplan import read_rtplan
from plancheck.dicom.rtstruct import read_rtstruct
from plancheck.phantoms.reirradiation import (
    BODY,
    CAUDA,
    CORD,
    PTV_CURRENT,
    PTV_PRIOR,
    THECAL_SAC,
    TRANSFORMS,
    VARIANTS,
    build_reirradiation,
    eqd2_gy,
    write_reirradiation,
)
from plancheck.registration import (
    DeformableMapping,
    MatrixMapping,
    RegistrationError,
    find_registration,
)
from plancheck.treatment_dates import course_dates, interval_between
from tests.phantoms.test_spine import near_max, points_in, trilinear


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("reirradiation")
    return {v: write_reirradiation(v, root / name) for v, name in VARIANTS.items()}


def grid_points(grid):
    z, y, x = np.meshgrid(grid.z_mm, grid.y_mm, grid.x_mm, indexing="ij")
    return np.stack([x, y, z], axis=-1)


def transform(m, p):
    return p @ m[:3, :3].T + m[:3, 3]


def roi(course, name):
    return next(s for s in course.structures if s.name == name)


# -- the registration -------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["translation", "rotation", "rotation-fail"])
def test_written_registration_maps_points_as_the_known_transform(written, variant):
    paths = written[variant]
    assert paths.registration is not None and paths.registration.parent == paths.current_dir
    reg = read_registration(paths.registration)
    ph = build_reirradiation(variant)
    assert reg.frame_of_reference_uid == ph.current.frame_of_reference_uid
    mapping = find_registration(
        [reg],
        ph.current.frame_of_reference_uid,
        ph.prior.frame_of_reference_uid,
        from_label="current course",
        to_label="prior course",
    )
    assert isinstance(mapping, MatrixMapping) and mapping.matrix_type.value == "RIGID"
    rng = np.random.default_rng(11)
    p = rng.uniform(-150.0, 150.0, size=(1000, 3))
    # DS values carry 10 significant digits: 1e-6 mm over ±150 mm
    assert np.max(np.abs(mapping.map_points(p) - transform(TRANSFORMS[variant], p))) < 1e-6
    assert mapping.rotation_deg == pytest.approx(
        0.0 if variant == "translation" else quaternion_angle_deg(2.0, -3.0, 4.0), abs=1e-6
    )


def quaternion_angle_deg(ax: float, ay: float, az: float) -> float:
    """Angle of Rz(az)·Ry(ay)·Rx(ax) from the product of unit quaternions (w of qz·qy·qx)."""
    hx, hy, hz = (np.radians(a) / 2 for a in (ax, ay, az))
    # w of the Hamilton product qz * qy * qx with qx=(cos hx, sin hx, 0, 0), ...
    w = np.cos(hx) * np.cos(hy) * np.cos(hz) + np.sin(hx) * np.sin(hy) * np.sin(hz)
    return float(np.degrees(2.0 * np.arccos(abs(w))))


def test_deformable_registration_maps_points_as_the_rigid_transform(written):
    paths = written["deformable"]
    assert paths.registration is not None and paths.registration.name == "RE.DEFORMABLE.dcm"
    ph = build_reirradiation("deformable")
    reg = read_registration(paths.registration)
    mapping = find_registration(
        [reg], ph.current.frame_of_reference_uid, ph.prior.frame_of_reference_uid
    )
    assert isinstance(mapping, DeformableMapping)
    # every point of the current dose grid is on the vector grid
    p = grid_points(ph.current.dose)[::3, ::3, ::3].reshape(-1, 3)
    # float32 vectors of at most ~50 mm: 1e-5 mm
    assert np.max(np.abs(mapping.map_points(p) - transform(TRANSFORMS["deformable"], p))) < 1e-5
    assert np.isnan(mapping.map_points([[0.0, 0.0, 500.0]])).all()
    # the other way needs the inverse of the deformation: refused
    with pytest.raises(RegistrationError, match="does not compute"):
        find_registration([reg], ph.prior.frame_of_reference_uid, ph.current.frame_of_reference_uid)


def test_identity_variant_shares_one_frame_and_has_no_registration(written):
    paths = written["identity"]
    ph = build_reirradiation("identity")
    assert paths.registration is None
    assert not any(p.name.startswith("RE.") for p in paths.current_dir.iterdir())
    frames = {
        read_rtdose(next(d.glob("RD.*"))).grid.frame_of_reference_uid
        for d in (paths.prior_dir, paths.current_dir)
    }
    assert frames == {ph.current.frame_of_reference_uid}
    frame = frames.pop()
    mapping = find_registration(
        [], frame, frame, from_label="current course", to_label="prior course"
    )
    assert isinstance(mapping, MatrixMapping) and mapping.is_identity and mapping.steps == ()


def test_translation_keeps_the_prior_grid_on_the_identity_lattice():
    # t is a multiple of the 3 mm prior grid: both prior grids lie on one anatomical lattice
    identity, shifted = build_reirradiation("identity"), build_reirradiation("translation")
    t = shifted.current_to_prior[:3, 3]
    assert np.allclose(t / 3.0, np.round(t / 3.0))
    a = grid_points(identity.prior.dose).reshape(-1, 3)
    b = transform(
        np.linalg.inv(shifted.current_to_prior), grid_points(shifted.prior.dose).reshape(-1, 3)
    )
    assert np.allclose(np.round(b / 3.0), b / 3.0) and np.allclose(np.round(a / 3.0), a / 3.0)
    # ... so the interpolated prior dose at any anatomical point is the same number
    rng = np.random.default_rng(5)
    p = rng.uniform([-20, 10, -30], [20, 40, 30], size=(2000, 3))
    d_identity = trilinear(identity.prior.dose, p)
    d_shifted = trilinear(shifted.prior.dose, transform(shifted.current_to_prior, p))
    assert np.max(np.abs(d_identity - d_shifted)) < 1e-9


# -- the doses --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("course", ["prior", "current"])
def test_written_doses_are_the_closed_forms_at_the_grid_points(written, variant, course):
    ph = build_reirradiation(variant)
    spec = getattr(ph, course)
    folder = getattr(written[variant], f"{course}_dir")
    dose = read_rtdose(folder / f"RD.{spec.plan_label}.dcm")
    assert dose.grid.frame_of_reference_uid == spec.frame_of_reference_uid
    truth = spec.dose_in_own_frame_gy(grid_points(dose.grid))
    # 16-bit storage: half a step of DoseGridScaling (max / 65535), plus float32 reading
    step = float(truth.max()) / 65535
    assert np.max(np.abs(dose.grid.dose_gy - truth)) <= 0.5 * step * (1 + 1e-3) + 1e-6 * float(
        truth.max()
    )


@pytest.mark.parametrize("variant", ["rotation", "rotation-fail"])
def test_prior_dose_reached_through_the_registration(written, variant):
    """Prior grid points, expressed in the current frame and mapped back, give the stored doses."""
    ph = build_reirradiation(variant)
    reg = read_registration(written[variant].registration)
    mapping = find_registration(
        [reg], ph.current.frame_of_reference_uid, ph.prior.frame_of_reference_uid
    )
    prior = read_rtdose(written[variant].prior_dir / "RD.SPINE_30.dcm").grid
    nodes = grid_points(prior)[1:-1:4, 1:-1:4, 1:-1:4].reshape(-1, 3)
    in_current = transform(ph.prior_to_current, nodes)  # the same physical points, current frame
    sampled = trilinear(prior, mapping.map_points(in_current))
    k = np.array(
        [
            [
                np.searchsorted(a, v)
                for a, v in zip((prior.x_mm, prior.y_mm, prior.z_mm), n, strict=True)
            ]
            for n in nodes
        ]
    )
    stored = prior.dose_gy[k[:, 2], k[:, 1], k[:, 0]]
    assert np.max(np.abs(sampled - stored)) < 1e-5
    # and the truth function of the current frame gives the prior field there
    assert np.allclose(ph.prior_dose_gy(in_current), ph.prior.dose_in_own_frame_gy(nodes))


def test_cumulative_eqd2_per_point_is_each_course_with_its_own_fractions():
    ph = build_reirradiation("rotation")
    p = np.array([[0.0, 19.6, 0.0], [0.0, 30.0, 10.0], [0.0, 0.0, 0.0]])
    prior, current = ph.prior_dose_gy(p), ph.current_dose_gy(p)
    expected = prior * (prior / 10 + 2) / 4 + current * (current / 2 + 2) / 4
    assert np.allclose(ph.cumulative_eqd2_gy(p, 2.0), expected)
    assert np.allclose(eqd2_gy(8.0, 2, 3.0), 8.0 * (4.0 + 3.0) / 5.0)


@pytest.mark.parametrize(("variant", "fails"), [("rotation", False), ("rotation-fail", True)])
def test_thecal_sac_cumulative_near_maximum_by_design(variant, fails):
    ph = build_reirradiation(variant)
    pts, volume_cc = points_in(roi(ph.current, "ThecalSac"), n=300_000)
    cumulative = near_max(ph.cumulative_eqd2_gy(pts, 2.0), volume_cc)
    sbrt = near_max(eqd2_gy(ph.current_dose_gy(pts), 2, 2.0), volume_cc)
    prior = near_max(eqd2_gy(ph.prior_dose_gy(pts), 10, 2.0), volume_cc)
    if fails:
        assert cumulative > 75.0 and sbrt > 25.0 and sbrt / cumulative > 0.5
    else:  # HyTEC re-irradiation: cumulative <= 70, SBRT <= 25 Gy EQD2, ratio <= 0.5
        assert 50.0 < cumulative < 65.0 and sbrt < 25.0 and sbrt / cumulative < 0.5
    # the maxima of the two courses are not in the same place
    assert prior + sbrt > cumulative + 1.0


# -- the contours -----------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["identity", "rotation"])
def test_contours_lie_on_the_rotated_cylinders(written, variant):
    ph = build_reirradiation(variant)
    to_anatomy = np.linalg.inv(ph.current_to_prior)
    structure_set = read_rtstruct(written[variant].prior_dir / "RS.PRIOR.dcm")
    shapes = {c.name: c for c in (BODY, PTV_PRIOR, CORD, THECAL_SAC, CAUDA)}
    for s in structure_set.structures:
        cyl = shapes[s.name]
        assert s.planes, s.name
        for plane in s.planes:
            (ring,) = plane.polygons
            p = transform(to_anatomy, np.column_stack([ring, np.full(len(ring), plane.z_mm)]))
            (cx, cy), (a, b) = cyl.centre, cyl.semi_axes
            radial = np.hypot((p[:, 0] - cx) / a, (p[:, 1] - cy) / b)
            lo, hi = cyl.z_range
            on_side = np.abs(radial - 1.0) < 0.02 / min(a, b)  # vertices rounded to 0.01 mm
            on_cap = (np.abs(p[:, 2] - lo) < 0.02) | (np.abs(p[:, 2] - hi) < 0.02)
            assert np.all(on_side | on_cap), (s.name, plane.z_mm)
            assert np.all(
                (radial < 1.0 + 0.02 / min(a, b)) & (p[:, 2] > lo - 0.02) & (p[:, 2] < hi + 0.02)
            )


def test_current_structures_are_the_anatomy():
    ph = build_reirradiation("rotation")
    assert [s.name for s in ph.current.structures] == [
        "Body",
        "PTV",
        "SpinalCord",
        "ThecalSac",
        "CaudaEquina",
    ]
    ptv = roi(ph.current, "PTV")
    assert ptv.planes[0].z_mm == -11.25 and ptv.planes[-1].z_mm == 11.25
    xy = ptv.planes[0].polygons[0]
    assert np.allclose(
        np.hypot(xy[:, 0] / PTV_CURRENT.semi_axes[0], xy[:, 1] / PTV_CURRENT.semi_axes[1]),
        1.0,
        atol=1e-3,
    )


# -- plans, dates, files ------------------------------------------------------------------


def test_plans_and_interval(written):
    paths = written["rotation"]
    prior_plan = read_rtplan(paths.prior_dir / "RP.SPINE_30.dcm")
    current_plan = read_rtplan(paths.current_dir / "RP.SBRT_24.dcm")
    assert (prior_plan.n_fractions, prior_plan.prescription_gy) == (10, 30.0)
    assert (current_plan.n_fractions, current_plan.prescription_gy) == (2, 24.0)
    assert prior_plan.patient.patient_id == current_plan.patient.patient_id
    prior_dates = [
        d for f in paths.prior_dir.glob("R[PT].*") for d in read_treatment_dates(f).dates
    ]
    current_dates = list(read_treatment_dates(paths.current_dir / "RP.SBRT_24.dcm").dates)
    interval = interval_between(course_dates(prior_dates), course_dates(current_dates))
    assert interval.prior_end.date == dt.date(2023, 1, 27)
    assert interval.current_start.date == dt.date(2024, 3, 4)
    assert interval.days == 402 and interval.conservative


def test_files_are_reproducible_and_small(tmp_path, written):
    again = write_reirradiation("rotation", tmp_path / "again")
    first = written["rotation"]
    names = sorted(p.relative_to(first.prior_dir.parent) for p in first.files)
    assert names == sorted(p.relative_to(again.prior_dir.parent) for p in again.files)
    for a, b in zip(sorted(first.files), sorted(again.files), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert sum(p.stat().st_size for p in first.files) < 2_000_000


def test_unknown_variant():
    with pytest.raises(ValueError, match="unknown re-irradiation variant"):
        build_reirradiation("mirror")
