"""The spine sample plans: content, reproducibility, and the outcomes they are built for.

The dose checks sample points uniformly inside each ROI's contour stack
(fixed seed, ray casting written in the test) and interpolate the written
dose grid trilinearly (also written here), so they do not go through the
DVH engine. Limits: cord near-maximum 45 Gy EQD2 (α/β = 2) = 33.6 Gy in 10
fractions (QUANTEC/Schultheiss, see PHYSICS.md); coverage D95% >= 95 % of
each target's prescription.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from plancheck.model import DoseGrid, EndCaps
from plancheck.phantoms.spine import VARIANTS, build_spine, write_spine
from plancheck.phantoms.truth import slab_bounds
from tests.phantoms.montecarlo import inside_even_odd

ROIS = {
    "Body",
    "PTV_boost",
    "PTV",
    "SpinalCanal",
    "SpinalCord",
    "CaudaEquina",
    "Kidney_L",
    "Kidney_R",
    "Bowel_Bag",
}


def points_in(structure, n=60_000, seed=7):
    """Uniform points inside the ROI's contour stack and the stack's volume estimate (cc)."""
    z = np.array([p.z_mm for p in structure.planes])
    lower, upper = slab_bounds(z, EndCaps.HALF)
    pts = np.concatenate([r for p in structure.planes for r in p.polygons])
    lo = np.array([pts[:, 0].min(), pts[:, 1].min(), lower.min()])
    hi = np.array([pts[:, 0].max(), pts[:, 1].max(), upper.max()])
    p = lo + (hi - lo) * np.random.default_rng(seed).random((n, 3))
    keep = []
    for k, plane in enumerate(structure.planes):
        q = p[(p[:, 2] >= lower[k]) & (p[:, 2] < upper[k])]
        keep.append(q[inside_even_odd(q[:, 0], q[:, 1], plane.polygons)])
    inside = np.concatenate(keep)
    return inside, float(np.prod(hi - lo)) / 1000 * len(inside) / n


def trilinear(grid: DoseGrid, pts: np.ndarray) -> np.ndarray:
    out = grid.dose_gy
    idx, frac = [], []
    for k, coords in enumerate((grid.x_mm, grid.y_mm, grid.z_mm)):
        c = pts[:, k]
        i = np.clip(np.searchsorted(coords, c) - 1, 0, coords.size - 2)
        idx.append(i)
        frac.append((c - coords[i]) / (coords[i + 1] - coords[i]))
    ix, iy, iz = idx
    fx, fy, fz = frac
    total = np.zeros(len(pts))
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                w = (fz if dz else 1 - fz) * (fy if dy else 1 - fy) * (fx if dx else 1 - fx)
                total += w * out[iz + dz, iy + dy, ix + dx]
    return total


def near_max(doses: np.ndarray, volume_cc: float, small_cc: float = 0.03) -> float:
    """Dose to the hottest ``small_cc`` of the sampled ROI."""
    k = max(1, round(small_cc / volume_cc * doses.size))
    return float(np.sort(doses)[-k])


def roi(ph, name):
    return next(s for s in ph.structures if s.name == name)


@pytest.fixture(scope="module")
def phantoms():
    return {v: build_spine(v) for v in VARIANTS}


def test_rois_and_plans(phantoms):
    for variant, ph in phantoms.items():
        assert {s.name for s in ph.structures} == ROIS
        assert all(s.has_volume for s in ph.structures)
        sib = ph.plans[0]
        assert (sib.label, sib.n_fractions) == ("SIB_30_40", 10)
        assert {(r.roi_number, r.target_prescription_dose_gy) for r in sib.dose_references} == {
            (roi(ph, "PTV_boost").roi_number, 40.0),
            (roi(ph, "PTV").roi_number, 30.0),
        }
        if variant == "sib-seq-course":
            boost = ph.plans[1]
            assert (boost.label, boost.n_fractions) == ("SEQ_BOOST_8", 2)
            assert [r.target_prescription_dose_gy for r in boost.dose_references] == [8.0]
            assert boost.dose.spacing_mm != sib.dose.spacing_mm
        else:
            assert len(ph.plans) == 1


def test_cord_ends_where_cauda_equina_begins(phantoms):
    ph = phantoms["sib-pass"]
    cord_z = [p.z_mm for p in roi(ph, "SpinalCord").planes]
    cauda_z = [p.z_mm for p in roi(ph, "CaudaEquina").planes]
    assert max(cauda_z) < min(cord_z) and min(cord_z) - max(cauda_z) == pytest.approx(2.5)
    ptv_z = [p.z_mm for p in roi(ph, "PTV").planes]
    assert min(ptv_z) < min(cord_z) < max(ptv_z)  # the cord ends inside the treated level


@pytest.fixture(scope="module")
def sampled(phantoms):
    out = {}
    for variant, ph in phantoms.items():
        for name in ("SpinalCord", "PTV_boost", "PTV"):
            pts, volume_cc = points_in(roi(ph, name))
            out[(variant, name)] = (volume_cc, [trilinear(p.dose, pts) for p in ph.plans])
    return out


def test_targets_are_covered(sampled):
    for variant in VARIANTS:
        for name, rx in (("PTV_boost", 40.0), ("PTV", 30.0)):
            _, doses = sampled[(variant, name)]
            d95 = float(np.percentile(doses[0], 5))
            assert d95 >= 0.95 * rx, (variant, name, d95)
        _, boost = sampled[(variant, "PTV_boost")]
        assert float(np.percentile(boost[0], 98)) <= 1.07 * 40.0


def test_cord_near_maximum_by_design(sampled):
    vol, (pass_dose,) = sampled[("sib-pass", "SpinalCord")]
    assert near_max(pass_dose, vol) < 30.0  # well below 33.6 Gy
    vol, (fail_dose,) = sampled[("sib-cord-fail", "SpinalCord")]
    assert near_max(fail_dose, vol) > 38.0


def test_course_cord_eqd2_below_the_limit(sampled):
    vol, (sib, boost) = sampled[("sib-seq-course", "SpinalCord")]
    eqd2 = sib * (sib / 10 + 2.0) / 4.0 + boost * (boost / 2 + 2.0) / 4.0
    assert near_max(eqd2, vol) < 45.0
    _, (sib_b, boost_b) = sampled[("sib-seq-course", "PTV_boost")]
    total = sib_b + boost_b
    assert float(np.percentile(total, 5)) >= 0.95 * 48.0


def test_written_folder_is_reproducible_and_small(tmp_path):
    a = write_spine("sib-seq-course", tmp_path / "a")
    b = write_spine("sib-seq-course", tmp_path / "b")
    files_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files_a == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(files_a) == 5
    for name in files_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sum(p.stat().st_size for p in (tmp_path / "a").iterdir()) < 5_000_000
    rs = pydicom.dcmread(a.rtstruct)
    for rp_path, rd_path in zip(a.rtplans, a.rtdoses, strict=True):
        rp, rd = pydicom.dcmread(rp_path), pydicom.dcmread(rd_path)
        assert rp.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID == rs.SOPInstanceUID
        assert rd.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == rp.SOPInstanceUID
        assert (
            rd.FrameOfReferenceUID == rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
        )
        assert rd.BitsAllocated == 16
    assert b.uids == a.uids
