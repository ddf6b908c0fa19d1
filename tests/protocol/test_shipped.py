"""The shipped protocols: they validate, their names are their files, and their [LQ] numbers are right.

The LQ conversions are recomputed here from the reference values (written in
this file with their sources) by the formulas of the linear-quadratic model,
independently of plancheck's code, and compared with the thresholds in the
YAML files. Converted limits are rounded down to 0.1 Gy, as the files state.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plancheck.protocol.load import load_protocol
from plancheck.protocol.matching import forbidden_alias_reason
from plancheck.protocol.outcome import parse_comparison
from plancheck.protocol.registry import find_protocol, load_all_shipped, load_shipped, shipped_names
from plancheck.protocol.selection import expected_plans

CONSTRAINTS_DIR = Path(__file__).resolve().parents[2] / "constraints"
EXPECTED = {
    "spine_sib_30Gy10_40Gy10",
    "spine_sib_seq_48Gy12",
    "spine_conventional_30Gy10",
    "spine_sbrt_24Gy2",
}


def eqd2(dose_gy: float, n: int, ab: float) -> float:
    return dose_gy * (dose_gy / n + ab) / (2 + ab)


def isoeffective(dose_gy: float, n_ref: int, n: int, ab: float) -> float:
    d = dose_gy / n_ref
    d_n = (-ab + math.sqrt(ab * ab + 4 * (n_ref * d * d + n_ref * d * ab) / n)) / 2
    return n * d_n


def down(x: float) -> float:
    return math.floor(x * 10 + 1e-9) / 10


def test_the_four_protocols_are_shipped():
    assert set(shipped_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shipped_protocol_validates(name):
    loaded = load_shipped(name)
    assert loaded.name == name
    # the same file read as a path validates too
    assert load_protocol(CONSTRAINTS_DIR / f"{name}.yaml").sha256 == loaded.sha256
    assert find_protocol(name).sha256 == loaded.sha256


@pytest.mark.parametrize("loaded", load_all_shipped(), ids=lambda p: p.name)
def test_every_number_has_a_source(loaded):
    p = loaded.protocol
    for c in p.constraints:
        assert c.source.strip(), c
    for ix in p.indices:
        assert ix.source.strip(), ix
    for level in p.dose_levels:
        assert level.source, level
    for entry in p.alpha_beta:
        assert entry.source.strip()
    # every short reference named at the start of a source is defined
    for c in (*p.constraints, *p.indices):
        first = c.source.split()[0].rstrip(",;:")
        if first.isidentifier() and not first.islower() and first not in ("LQ",):
            assert first in p.references, (first, c.source)


@pytest.mark.parametrize("loaded", load_all_shipped(), ids=lambda p: p.name)
def test_no_spinal_canal_alias_anywhere(loaded):
    for s in loaded.protocol.structures:
        for alias in s.aliases:
            assert forbidden_alias_reason(s.name, alias) is None
            assert "canal" not in alias.lower()


# (protocol, structure, metric, expected threshold, the reference it comes from)
LQ_GOALS = [
    # conventional-fraction references converted to 10 fractions (SIB 30/40 and conventional 30 Gy)
    *[
        (proto, structure, metric, value, ref)
        for proto in ("spine_sib_30Gy10_40Gy10", "spine_conventional_30Gy10")
        for structure, metric, value, ref in [
            (
                "Kidneys",
                "Mean[Gy]",
                down(isoeffective(15, 25, 10, 2)),
                "QUANTEC kidney mean 15 Gy/25 fx, a/b 2",
            ),
            (
                "Stomach",
                "D100%[Gy]",
                down(isoeffective(45, 25, 10, 3)),
                "QUANTEC stomach D100 45 Gy/25 fx, a/b 3",
            ),
            (
                "Esophagus",
                "Mean[Gy]",
                down(isoeffective(34, 30, 10, 10)),
                "QUANTEC esophagus mean 34 Gy/30 fx, a/b 10",
            ),
            (
                "CaudaEquina",
                "D0.03cc[EQD2Gy(a/b=3)]",
                down(eqd2(32, 5, 3)),
                "TG-101 cauda Dmax 32 Gy/5 fx",
            ),
            (
                "CaudaEquina",
                "D5cc[EQD2Gy(a/b=3)]",
                down(eqd2(30, 5, 3)),
                "TG-101 cauda 5 cc 30 Gy/5 fx",
            ),
        ]
    ],
    # the SIB + sequential boost course: EQD2 on the course sum
    (
        "spine_sib_seq_48Gy12",
        "Kidneys",
        "Mean[EQD2Gy(a/b=2)]",
        down(eqd2(15, 25, 2)),
        "QUANTEC kidney mean",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Kidneys",
        "D32%[EQD2Gy(a/b=2)]",
        down(eqd2(20, 25, 2)),
        "QUANTEC kidney V20 < 32 %",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Bowel_Bag",
        "D195cc[EQD2Gy(a/b=3)]",
        down(eqd2(45, 25, 3)),
        "QUANTEC V45 < 195 cc",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Bowel_Small",
        "D120cc[EQD2Gy(a/b=3)]",
        down(eqd2(15, 25, 3)),
        "QUANTEC V15 < 120 cc",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Stomach",
        "D100%[EQD2Gy(a/b=3)]",
        down(eqd2(45, 25, 3)),
        "QUANTEC D100 < 45 Gy",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Esophagus",
        "Mean[EQD2Gy(a/b=10)]",
        down(eqd2(34, 30, 10)),
        "QUANTEC mean < 34 Gy",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Heart",
        "D10%[EQD2Gy(a/b=3)]",
        down(eqd2(25, 25, 3)),
        "QUANTEC V25 < 10 %",
    ),
    (
        "spine_sib_seq_48Gy12",
        "Lungs",
        "D30%[EQD2Gy(a/b=3)]",
        down(eqd2(20, 30, 3)),
        "QUANTEC V20 <= 30 %",
    ),
    (
        "spine_sib_seq_48Gy12",
        "CaudaEquina",
        "D0.03cc[EQD2Gy(a/b=3)]",
        down(eqd2(32, 5, 3)),
        "TG-101 Dmax 5 fx",
    ),
    # TG-101 three-fraction limits converted to 2 fractions (SBRT 24 Gy/2 fx)
    (
        "spine_sbrt_24Gy2",
        "CaudaEquina",
        "D0.03cc[Gy]",
        down(isoeffective(24, 3, 2, 3)),
        "TG-101 cauda Dmax 3 fx",
    ),
    (
        "spine_sbrt_24Gy2",
        "CaudaEquina",
        "D5cc[Gy]",
        down(isoeffective(21.9, 3, 2, 3)),
        "TG-101 cauda 5 cc 3 fx",
    ),
    (
        "spine_sbrt_24Gy2",
        "Esophagus",
        "D0.03cc[Gy]",
        down(isoeffective(25.2, 3, 2, 3)),
        "TG-101 esophagus Dmax",
    ),
    (
        "spine_sbrt_24Gy2",
        "Heart",
        "D0.03cc[Gy]",
        down(isoeffective(30, 3, 2, 3)),
        "TG-101 heart Dmax",
    ),
    (
        "spine_sbrt_24Gy2",
        "Stomach",
        "D0.03cc[Gy]",
        down(isoeffective(22.2, 3, 2, 3)),
        "TG-101 stomach Dmax",
    ),
    (
        "spine_sbrt_24Gy2",
        "Bowel_Small",
        "D0.03cc[Gy]",
        down(isoeffective(25.2, 3, 2, 3)),
        "TG-101 jejunum Dmax",
    ),
    (
        "spine_sbrt_24Gy2",
        "Kidneys",
        "DC200cc[Gy]",
        down(isoeffective(16, 3, 2, 3)),
        "TG-101 renal cortex 200 cc",
    ),
    (
        "spine_sbrt_24Gy2",
        "Lungs",
        "DC1500cc[Gy]",
        down(isoeffective(10.5, 3, 2, 3)),
        "TG-101 lung 1500 cc",
    ),
]

# V-metric thresholds converted to 10 fractions: (protocol, structure, reference Gy, n_ref, a/b, goal)
LQ_VOLUME_THRESHOLDS = [
    (proto, structure, ref_gy, n_ref, ab, goal)
    for proto in ("spine_sib_30Gy10_40Gy10", "spine_conventional_30Gy10")
    for structure, ref_gy, n_ref, ab, goal in [
        ("Kidneys", 20, 25, 2, "<= 32"),  # QUANTEC kidney V20 < 32 %
        ("Bowel_Bag", 45, 25, 3, "<= 195"),  # QUANTEC peritoneal cavity V45 < 195 cc
        ("Bowel_Small", 15, 25, 3, "<= 120"),  # QUANTEC small bowel V15 < 120 cc
        ("Heart", 25, 25, 3, "<= 10"),  # QUANTEC heart V25 < 10 %
        ("Lungs", 20, 30, 3, "<= 30"),  # QUANTEC lung V20 <= 30 %
    ]
]


@pytest.mark.parametrize(("proto", "structure", "metric", "value", "ref"), LQ_GOALS)
def test_lq_converted_goals(proto, structure, metric, value, ref):
    p = load_shipped(proto).protocol
    matches = [c for c in p.constraints if c.structure == structure and c.metric == metric]
    assert len(matches) == 1, (proto, structure, metric)
    c = matches[0]
    goal = parse_comparison(c.goal)
    assert goal.op == "<="
    assert goal.threshold == pytest.approx(value, abs=1e-9), ref
    assert "[LQ]" in c.source
    if c.parsed_metric.alpha_beta_gy is not None:
        entry = p.alpha_beta_of(structure)
        assert entry is not None and entry.alpha_beta_gy == c.parsed_metric.alpha_beta_gy


@pytest.mark.parametrize(
    ("proto", "structure", "ref_gy", "n_ref", "ab", "goal"), LQ_VOLUME_THRESHOLDS
)
def test_lq_converted_volume_thresholds(proto, structure, ref_gy, n_ref, ab, goal):
    p = load_shipped(proto).protocol
    metric = f"V{down(isoeffective(ref_gy, n_ref, 10, ab)):g}Gy"
    found = [
        c for c in p.constraints if c.structure == structure and c.metric.startswith(metric + "[")
    ]
    assert len(found) == 1, (
        proto,
        metric,
        [c.metric for c in p.constraints if c.structure == structure],
    )
    assert found[0].goal == goal
    assert "[LQ]" in found[0].source


@pytest.mark.parametrize("proto", sorted(EXPECTED - {"spine_sbrt_24Gy2"}))
def test_cord_limits_are_the_quantec_values_in_eqd2(proto):
    # Schultheiss 2008 / QUANTEC: 45 Gy (0.03 % myelopathy) goal, 50 Gy (0.2 %) variation, 2 Gy fractions
    p = load_shipped(proto).protocol
    cord = next(c for c in p.constraints if c.structure == "SpinalCord")
    assert cord.metric == "D0.03cc[EQD2Gy(a/b=2)]"
    assert (cord.goal, cord.variation) == ("<= 45", "<= 50")
    # no reference gives a PRV limit: the PRV near-maximum is reported, not graded
    prv = next(c for c in p.constraints if c.structure == "SpinalCord_PRV05")
    assert prv.report_only and prv.goal is None


def test_sbrt_cord_is_hytec_two_fractions():
    p = load_shipped("spine_sbrt_24Gy2").protocol
    cord = next(c for c in p.constraints if c.structure == "SpinalCord")
    assert (cord.metric, cord.goal) == ("D0.03cc[Gy]", "<= 17")  # HyTEC: 17.0 Gy in 2 fractions
    assert eqd2(17.0, 2, 2) == pytest.approx(44.6, abs=0.05)  # the EQD2 its source quotes


def test_course_protocol_describes_its_two_plans():
    p = load_shipped("spine_sib_seq_48Gy12").protocol
    plans = expected_plans(p)
    assert [(pl.fractions, dict(pl.doses_gy)) for pl in plans] == [
        (10, {"low": 30, "boost": 40}),
        (2, {"boost": 8}),
    ]
    boost = p.dose_level("boost")
    assert (boost.dose_gy, boost.fractions, boost.plans) == (
        48,
        12,
        (1, 2),
    )  # Xiao 2025: 48 Gy in 12 fx


@pytest.mark.parametrize("proto", ["spine_sib_30Gy10_40Gy10", "spine_sib_seq_48Gy12"])
def test_sib_targets(proto):
    p = load_shipped(proto).protocol
    low = p.structure("PTV_Low!")
    assert low.derived == "PTV - PTV_boost" and not low.prefer_roi
    wanted = {
        ("PTV_boost", "V95%[%]", "boost"),
        ("PTV_boost", "D98%[%]", "boost"),
        ("PTV_boost", "D2%[%]", "boost"),
        ("PTV_boost", "D50%[%]", "boost"),
        ("PTV", "V95%[%]", "low"),
        ("PTV_Low!", "V95%[%]", "low"),
        ("PTV_Low!", "D98%[%]", "low"),
    }
    have = {(c.structure, c.metric, c.dose_level) for c in p.constraints}
    assert wanted <= have
    kinds = {(ix.index.value, ix.dose_level) for ix in p.indices}
    assert kinds == {
        (k, lv) for k in ("hi_icru83", "ci_paddick", "ci_rtog", "gi") for lv in ("low", "boost")
    }
