"""The RT Structure Set reader's findings on ROIs that skip slices of the structure set."""

from __future__ import annotations

import numpy as np

from plancheck.dicom.rtstruct import structure_set_from_dataset
from plancheck.model import StructureSet
from tests.dicom import builders as b

CLOSED = "CLOSED_PLANAR"


def _read(*rois: b.Roi) -> StructureSet:
    return structure_set_from_dataset(b.rtstruct(rois))


def _findings(ss: StructureSet, roi: int) -> dict[str, str]:
    s = next(x for x in ss.structures if x.roi_number == roi)
    return {f.code: f.message for f in s.findings}


def test_an_roi_that_skips_slices_gets_a_finding_naming_them() -> None:
    body = b.Roi(1, "Body", [(CLOSED, b.square(50, z)) for z in np.arange(0.0, 60.1, 3.0)])
    helper = b.Roi(2, "Helper", [(CLOSED, b.square(5, z)) for z in (9.0, 12.0, 30.0, 57.0)])
    ss = _read(body, helper)
    found = _findings(ss, 2)
    assert "roi-skips-planes" in found
    message = found["roi-skips-planes"]
    assert "not contoured on 13 of the structure set's planes" in message
    assert "5 between z = 12 and 30 mm" in message and "8 between z = 30 and 57 mm" in message
    assert "3 separate parts" in message
    assert "roi-skips-planes" not in _findings(ss, 1)


def test_rois_on_two_interleaved_slice_series_get_a_set_finding_not_skips() -> None:
    a = b.Roi(1, "A", [(CLOSED, b.square(5, z)) for z in np.arange(0.0, 30.0, 3.0)])
    c = b.Roi(2, "B", [(CLOSED, b.square(5, z)) for z in np.arange(1.0, 30.0, 3.0)])
    ss = _read(a, c)
    assert "structure-set-irregular-planes" in {f.code for f in ss.findings}
    assert "roi-skips-planes" not in _findings(ss, 1)
    assert "roi-skips-planes" not in _findings(ss, 2)


def test_two_parts_with_no_slices_between_them_are_not_a_skip() -> None:
    """Nothing is contoured between the parts: a hole of the lattice, not skipped slices."""
    z = [0.0, 2.0, 4.0, 30.0, 32.0]
    ss = _read(b.Roi(1, "TwoParts", [(CLOSED, b.square(5, v)) for v in z]))
    assert "roi-skips-planes" not in _findings(ss, 1)
