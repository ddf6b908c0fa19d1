"""Structure matching: normalisation, aliases, ambiguity, SpinalCanal, derived structures, alias files."""

from __future__ import annotations

import pytest

from plancheck.protocol.expressions import format_expr
from plancheck.protocol.load import load_aliases, parse_aliases, parse_protocol
from plancheck.protocol.matching import (
    MatchStatus,
    UserAliases,
    forbidden_alias_reason,
    match_structures,
    normalise_name,
)
from plancheck.protocol.registry import load_shipped
from plancheck.protocol.yamldoc import ProtocolFileError
from tests.protocol.builders import MINIMAL, line_of, write

MINI = parse_protocol(MINIMAL, "mini.yaml").protocol


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SpinalCord", "spinal cord"),
        ("SpinalCord", "SPINAL_CORD"),
        ("SpinalCord", "Spinal-Cord"),
        ("SpinalCord", " Spinal.Cord "),
        ("Kidney_L", "kidney l"),
        ("PTV_boost", "PTV Boost"),
    ],
)
def test_normalisation_ignores_case_spaces_and_separators(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("a", "b"), [("SpinalCord", "SpinalCanal"), ("Cord", "SpinalCord"), ("PTV", "PTV1")]
)
def test_normalisation_is_not_fuzzy(a, b):
    assert normalise_name(a) != normalise_name(b)


@pytest.mark.parametrize("roi", ["spinal cord", "SPINAL_CORD", "Cord", "sc", "C O R D"])
def test_variants_match(roi):
    m = match_structures(MINI, ["PTV", "Body", roi])["SpinalCord"]
    assert m.status is MatchStatus.MATCHED
    assert m.roi_name == roi
    assert m.matched_by  # shown in results


def test_matched_by_says_how():
    exact = match_structures(MINI, ["SpinalCord"])["SpinalCord"]
    assert exact.matched_by == "TG-263 name 'SpinalCord'"
    alias = match_structures(MINI, ["cord"])["SpinalCord"]
    assert (
        alias.matched_by == "protocol alias 'Cord' (after normalising case, spaces and separators)"
    )


def test_spinal_canal_never_matches_the_cord():
    for shipped in ("spine_sib_30Gy10_40Gy10", "spine_sbrt_24Gy2"):
        protocol = load_shipped(shipped).protocol
        m = match_structures(protocol, ["PTV", "Body", "SpinalCanal", "Spinal_Canal", "canal"])
        assert m["SpinalCord"].status is MatchStatus.MISSING
        # the cord PRV cannot be derived either
        assert m[
            next(s.name for s in protocol.structures if s.name.startswith("SpinalCord_PRV"))
        ].status is (MatchStatus.MISSING)


@pytest.mark.parametrize(
    ("structure", "alias"),
    [("SpinalCord", "SpinalCanal"), ("SpinalCord", "Thecal Sac"), ("SpinalCanal", "cord")],
)
def test_canal_aliases_are_forbidden(structure, alias):
    assert forbidden_alias_reason(structure, alias) is not None


def test_two_matching_rois_are_ambiguous_not_a_guess():
    m = match_structures(MINI, ["PTV", "SpinalCord", "Cord"])["SpinalCord"]
    assert m.status is MatchStatus.AMBIGUOUS
    assert set(m.candidates) == {"SpinalCord", "Cord"}
    assert m.roi_name is None
    assert "rois:" in m.reason  # says how to resolve it


def test_two_rois_with_the_same_name_are_ambiguous():
    m = match_structures(MINI, ["PTV", "SpinalCord", "SpinalCord"])["SpinalCord"]
    assert m.status is MatchStatus.AMBIGUOUS
    assert m.candidates == ("SpinalCord", "SpinalCord")


def test_missing_structure_says_what_was_tried():
    m = match_structures(MINI, ["PTV", "Body"])["SpinalCord"]
    assert m.status is MatchStatus.MISSING
    for name in ("'SpinalCord'", "'Cord'", "'SC'"):
        assert name in m.reason


def test_derived_structure_uses_the_matched_roi_names():
    matches = match_structures(MINI, ["PTV_4000", "External", "cord"])
    low = matches["PTV_Low!"]
    assert low.status is MatchStatus.DERIVED
    assert low.derived is not None
    assert format_expr(low.derived.expression) == "PTV_4000 - cord"
    assert low.derived.roi_names == ("PTV_4000", "cord")
    assert low.matched_by == "derived: PTV - SpinalCord"


def test_derived_structure_with_a_missing_operand_is_missing():
    low = match_structures(MINI, ["PTV", "Body"])["PTV_Low!"]
    assert low.status is MatchStatus.MISSING
    assert "SpinalCord" in low.reason


def test_prefer_roi_uses_an_roi_when_present_and_derives_otherwise():
    protocol = load_shipped("spine_sib_30Gy10_40Gy10").protocol
    with_prv = match_structures(protocol, ["PTV", "PTV_boost", "Body", "Cord", "Cord_PRV5"])
    assert with_prv["SpinalCord_PRV05"].status is MatchStatus.MATCHED
    assert with_prv["SpinalCord_PRV05"].roi_name == "Cord_PRV5"
    without = match_structures(protocol, ["PTV", "PTV_boost", "Body", "Cord"])
    prv = without["SpinalCord_PRV05"]
    assert prv.status is MatchStatus.DERIVED
    assert prv.derived is not None and prv.derived.text == "Cord + 5mm"


def test_pgtv_is_the_boost_and_never_the_whole_ptv():
    protocol = load_shipped("spine_sib_30Gy10_40Gy10").protocol
    m = match_structures(protocol, ["PTV", "PGTV", "Body", "SpinalCord"])
    assert m["PTV_boost"].roi_name == "PGTV"
    assert m["PTV"].roi_name == "PTV"


def test_user_alias_file_adds_names_without_editing_the_protocol(tmp_path):
    text = "aliases:\n  SpinalCord: [Myelon, RM]\n  Unrelated: [X]\n"
    aliases = load_aliases(write(tmp_path, text, "site.yaml"))
    aliases.check_against(MINI)
    matches = match_structures(MINI, ["PTV", "RM"], aliases.aliases, aliases.source)
    cord = matches["SpinalCord"]
    assert cord.roi_name == "RM"
    assert "site.yaml" in cord.matched_by
    # a structure the protocol does not define is noted, not an error
    assert [f.code for f in matches.findings] == ["aliases-unknown-structure"]
    # the protocol itself is unchanged
    assert "RM" not in MINI.structure("SpinalCord").aliases


def test_user_alias_file_pins_an_roi_to_resolve_an_ambiguity():
    aliases = UserAliases(rois={"SpinalCord": "Cord"})
    m = match_structures(MINI, ["SpinalCord", "Cord"], aliases, "site.yaml")["SpinalCord"]
    assert m.status is MatchStatus.MATCHED
    assert m.roi_name == "Cord"
    assert m.matched_by == "ROI pinned in site.yaml"
    absent = match_structures(MINI, ["SpinalCord"], aliases, "site.yaml")["SpinalCord"]
    assert absent.status is MatchStatus.MISSING  # a pin is exact: no fallback to a guess


@pytest.mark.parametrize(
    ("text", "needle", "words"),
    [
        ("aliases:\n  SpinalCord: [Spinal Canal]\n", "Spinal Canal", "cannot name 'SpinalCord'"),
        ("aliases:\n  Body: [cord]\n", "cord", "already names 'SpinalCord'"),
        ("rois:\n  PTV_Low!: PTV\n", "PTV_Low!", "always derived"),
    ],
)
def test_user_alias_conflicts_name_the_alias_file_and_line(tmp_path, text, needle, words):
    path = write(tmp_path, text, "site.yaml")
    aliases = load_aliases(path)
    with pytest.raises(ProtocolFileError) as err:
        aliases.check_against(MINI)
    message = str(err.value)
    assert message.startswith(f"{path}: line {line_of(text, needle)}")
    assert words in message
    assert err.value.exit_code == 2


def test_alias_file_schema_errors_have_lines():
    text = "aliases:\n  SpinalCord: Myelon\nroi: {}\n"
    with pytest.raises(ProtocolFileError) as err:
        parse_aliases(text, "site.yaml")
    message = str(err.value)
    assert f"line {line_of(text, 'SpinalCord: Myelon')}" in message and "expected a list" in message
    assert f"line {line_of(text, 'roi:')}" in message and "unknown key 'roi'" in message
