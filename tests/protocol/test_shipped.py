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

from plancheck.protocol.bibliography import load_bibliography
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
    "spine_reirradiation_sbrt",
    "spine_reirradiation_conventional",
}
# the protocols of a first course (the re-irradiation ones grade prior and cumulative doses)
DE_NOVO = [p for p in load_all_shipped() if not p.protocol.is_reirradiation]


def eqd2(dose_gy: float, n: int, ab: float) -> float:
    return dose_gy * (dose_gy / n + ab) / (2 + ab)


def isoeffective(dose_gy: float, n_ref: int, n: int, ab: float) -> float:
    d = dose_gy / n_ref
    d_n = (-ab + math.sqrt(ab * ab + 4 * (n_ref * d * d + n_ref * d * ab) / n)) / 2
    return n * d_n


def down(x: float) -> float:
    return math.floor(x * 10 + 1e-9) / 10


def test_the_six_protocols_are_shipped():
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
        assert c.refs, c  # every constraint cites its sources by key
    for ix in p.indices:
        assert ix.source.strip() and ix.refs, ix
    for level in p.dose_levels:
        assert level.source and level.refs, level
    for entry in p.alpha_beta:
        assert entry.source.strip()
    # every key resolves in the shipped bibliography itself (shipped protocols define none locally)
    assert p.references == {}
    shipped = load_bibliography()
    for key in p.used_refs():
        assert key in shipped, key
    # a source that names a key at its start cites it
    for c in (*p.constraints, *p.indices):
        first = c.source.split()[0].rstrip(",;:")
        if first in shipped:
            assert first in c.refs, (first, c.source)


def test_bibliography_has_full_citations():
    shipped = load_bibliography()
    used = {k for lp in load_all_shipped() for k in lp.protocol.used_refs()}
    assert used <= set(shipped)
    for key, citation in shipped.items():
        assert len(citation) > 40, key
    # the TG-101 erratum: Med Phys 39:563 (2012)
    assert "Erratum: Med Phys 2012;39(1):563" in shipped["TG101"]


@pytest.mark.parametrize("loaded", load_all_shipped(), ids=lambda p: p.name)
def test_no_spinal_canal_alias_anywhere(loaded):
    for s in loaded.protocol.structures:
        for alias in s.aliases:
            assert forbidden_alias_reason(s.name, alias) is None
            assert "canal" not in alias.lower()


def from_eqd2(eqd2_gy: float, n: int, ab: float) -> float:
    """The dose in n fractions isoeffective with eqd2_gy given in 2 Gy fractions."""
    return isoeffective(eqd2_gy, eqd2_gy / 2, n, ab)  # type: ignore[arg-type]


TEN_FX = ("spine_sib_30Gy10_40Gy10", "spine_conventional_30Gy10")

# (protocol, structure, metric, expected threshold, the reference it comes from)
LQ_GOALS = [
    # references converted to this protocol's 10 fractions (SIB 30/40 and conventional 30 Gy)
    *[
        (proto, structure, metric, value, ref)
        for proto in TEN_FX
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
                down(isoeffective(34, 30, 10, 3)),
                "QUANTEC esophagus mean 34 Gy/30 fx, a/b 3 (the one esophagus a/b of every protocol)",
            ),
            (
                "Esophagus",
                "D0.03cc[Gy]",
                down(from_eqd2(60, 10, 3)),
                "Emami 1991 esophagus TD5/5 (1/3) 60 Gy in 2 Gy fractions, a/b 3",
            ),
            (
                "CaudaEquina",
                "D0.03cc[Gy]",
                down(from_eqd2(55, 10, 3)),
                "Pieters 2006 cauda TD5/5 55 Gy in 2 Gy equivalents, a/b 3",
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
        "Mean[EQD2Gy(a/b=3)]",
        down(eqd2(34, 30, 3)),
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
        "RenalCortex",
        "DC200cc[Gy]",
        down(isoeffective(16, 3, 2, 2)),
        "TG-101 renal cortex 200 cc, kidney a/b 2",
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
    for proto in TEN_FX
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
    matches = [
        c
        for c in p.constraints
        if c.structure == structure and c.metric == metric and c.surrogate_for is None
    ]
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


@pytest.mark.parametrize("proto", sorted(p.name for p in DE_NOVO if p.name != "spine_sbrt_24Gy2"))
def test_cord_limits_are_the_quantec_values(proto):
    # Schultheiss 2008 / QUANTEC: 45 Gy (0.03 % myelopathy) goal, 50 Gy (0.2 %) variation, 2 Gy fractions
    p = load_shipped(proto).protocol
    cord = next(c for c in p.constraints if c.structure == "SpinalCord")
    if proto in TEN_FX:  # physical dose in this protocol's 10 fractions, a/b 2
        assert cord.metric == "D0.03cc[Gy]"
        goal, variation = down(from_eqd2(45, 10, 2)), down(from_eqd2(50, 10, 2))
        assert (goal, variation) == (33.5, 35.8)
        assert (cord.goal, cord.variation) == (f"<= {goal:g}", f"<= {variation:g}")
    else:  # EQD2 of the course
        assert cord.metric == "D0.03cc[EQD2Gy(a/b=2)]"
        assert (cord.goal, cord.variation) == ("<= 45", "<= 50")
    # the note: 0.03 % holds at a/b 2; Schultheiss' a/b 0.87 puts it nearer 0.2 %
    assert cord.note is not None and "0.03 %" in cord.note and "0.87" in cord.note
    assert "0.2 %" in cord.note
    # ICRU 62/83: the PRV carries the organ's limits, with the same variation band
    prv = next(c for c in p.constraints if c.structure == "SpinalCord_PRV05")
    assert (prv.metric, prv.goal, prv.variation) == (cord.metric, cord.goal, cord.variation)
    assert {"ICRU50_62", "ICRU83"} <= set(prv.refs)


def test_cord_note_numbers():
    # 33.5 Gy in 10 fractions: 45 Gy EQD2 at a/b 2, 49.3 Gy EQD2 at Schultheiss' 0.87 Gy
    assert eqd2(33.5, 10, 2) == pytest.approx(44.9, abs=0.1)
    assert eqd2(33.5, 10, 0.87) == pytest.approx(49.3, abs=0.05)


@pytest.mark.parametrize("loaded", DE_NOVO, ids=lambda p: p.name)
def test_thecal_sac_is_a_surrogate_for_cord_and_cauda(loaded):
    p = loaded.protocol
    (group,) = p.required_any
    assert set(group.structures) == {"SpinalCord", "CaudaEquina", "ThecalSac"}
    assert not any(p.structure(n).required for n in group.structures)
    by_organ = {
        c.surrogate_for: c for c in p.constraints if c.structure == "ThecalSac" and c.surrogate_for
    }
    assert set(by_organ) == {"SpinalCord", "CaudaEquina"}
    for organ, surrogate in by_organ.items():
        own = next(
            c
            for c in p.constraints
            if c.structure == organ and c.metric.startswith("D0.03cc") and c.surrogate_for is None
        )
        # the organ's own near-maximum limit, in the organ's own unit and a/b
        assert (surrogate.metric, surrogate.goal, surrogate.variation) == (
            own.metric,
            own.goal,
            own.variation,
        )
        assert "HyTEC_cord" in surrogate.refs


def test_alpha_beta_is_one_value_per_organ_in_every_protocol():
    values: dict[str, set[float]] = {}
    for lp in load_all_shipped():
        for entry in lp.protocol.alpha_beta:
            for name in entry.structures:
                values.setdefault(name, set()).add(entry.alpha_beta_gy)
    assert {k: v for k, v in values.items() if len(v) > 1} == {}
    assert values["SpinalCord"] == {2} and values["CaudaEquina"] == {3}
    assert values["Kidneys"] == {2} and values["Esophagus"] == {3}


@pytest.mark.parametrize("loaded", DE_NOVO, ids=lambda p: p.name)
def test_esophagus_has_a_near_maximum_limit(loaded):
    metrics = {c.metric for c in loaded.protocol.constraints if c.structure == "Esophagus"}
    assert any(m.startswith("D0.03cc") for m in metrics), metrics


@pytest.mark.parametrize("loaded", DE_NOVO, ids=lambda p: p.name)
def test_cauda_limit_binds_at_this_fractionation(loaded):
    # the 10-fraction protocols take the cauda from conventional fractionation (Pieters 2006),
    # not from 5-fraction SBRT (60.1 Gy EQD2 never binds at 10 fractions)
    p = loaded.protocol
    cauda = [c for c in p.constraints if c.structure == "CaudaEquina"]
    if p.name == "spine_sbrt_24Gy2":
        assert all("TG101" in c.refs for c in cauda)
    else:
        assert [c.metric for c in cauda] and all("Pieters2006" in c.refs for c in cauda)


def test_sbrt_grades_target_coverage_and_names_the_renal_cortex():
    from plancheck.protocol.selection import grades_its_targets

    p = load_shipped("spine_sbrt_24Gy2").protocol
    cover = next(c for c in p.constraints if c.structure == "PTV" and c.metric == "V100%[%]")
    assert (cover.goal, cover.variation) == (">= 90", ">= 80")  # RTOG 0631: 90 %, 80-90 % minor
    assert "RTOG0631" in cover.refs
    assert all(grades_its_targets(lp.protocol) for lp in load_all_shipped())
    cortex = next(c for c in p.constraints if c.structure == "RenalCortex")
    whole = next(c for c in p.constraints if c.structure == "Kidneys")
    assert whole.surrogate_for == "RenalCortex" and whole.goal == cortex.goal
    assert "Approximation" in whole.source and "Not conservative" in whole.source


def test_sbrt_cord_is_hytec_two_fractions():
    p = load_shipped("spine_sbrt_24Gy2").protocol
    cord = next(c for c in p.constraints if c.structure == "SpinalCord")
    assert (cord.metric, cord.goal) == ("D0.03cc[Gy]", "<= 17")  # HyTEC: 17.0 Gy in 2 fractions
    assert eqd2(17.0, 2, 2) == pytest.approx(44.6, abs=0.05)  # the EQD2 its source quotes


def test_course_protocol_describes_its_two_plans():
    p = load_shipped("spine_sib_seq_48Gy12").protocol
    plans = expected_plans(p)
    assert [(pl.fractions, dict(pl.doses_gy)) for pl in plans] == [
        (10, {"low": 30, "boost_sib": 40, "boost": 40}),
        (2, {"boost_seq": 8, "boost": 8}),
    ]
    levels = {lv.id: (lv.dose_gy, lv.fractions, lv.plans) for lv in p.dose_levels}
    assert levels == {
        "low": (30, 10, (1,)),
        "boost_sib": (40, 10, (1,)),  # plan 1's boost against its own level
        "boost_seq": (8, 2, (2,)),  # plan 2 against its own level
        "boost": (48, 12, (1, 2)),  # Xiao 2025: 48 Gy in 12 fx on the course
    }


@pytest.mark.parametrize("proto", ["spine_sib_30Gy10_40Gy10", "spine_sib_seq_48Gy12"])
def test_sib_targets(proto):
    p = load_shipped(proto).protocol
    low = p.structure("PTV_Low!")
    assert low.derived == "PTV - PTV_boost" and not low.prefer_roi
    boost_levels = ("boost",) if proto == "spine_sib_30Gy10_40Gy10" else ("boost_sib", "boost_seq", "boost")
    wanted = {
        *[
            ("PTV_boost", metric, level)
            for level in boost_levels
            for metric in ("V95%[%]", "D98%[%]", "D2%[%]", "D50%[%]")
        ],
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
