"""Which end-cap convention plancheck uses: the table of planning systems, and the fallbacks."""

from __future__ import annotations

import pytest

from plancheck.dvh.end_caps import SYSTEMS, choose_end_caps, identify_system
from plancheck.model import EndCaps

# Manufacturer / model / SOP Instance UID as the shared real exports write them (their MANIFESTs)
ECLIPSE = ("Varian Medical Systems", "ARIA RadOnc", "1.2.246.352.71.4.731233350210.2837570")
RAYSTATION = (
    "RaySearch Laboratories",
    "RayStation",
    "1.2.752.243.1.1.20180405120828292.2900.76357",
)
PINNACLE = ("ADAC", "Pinnacle3", "2.16.840.1.114362.1.6.6.12.17310.7693757184.448884818.495.4027")


@pytest.mark.parametrize(
    ("writer", "system", "caps"),
    [
        (ECLIPSE, "Varian Eclipse", EndCaps.NONE),
        (RAYSTATION, "RaySearch RayStation", EndCaps.NONE),
        (PINNACLE, "Philips Pinnacle3", EndCaps.HALF),
        (("Philips Medical Systems", "Pinnacle3", "1.2.3"), "Philips Pinnacle3", EndCaps.HALF),
        (("Varian Medical Systems", "Eclipse", "1.2.3"), "Varian Eclipse", EndCaps.NONE),
    ],
)
def test_auto_takes_the_convention_of_the_writer(
    writer: tuple[str, str, str], system: str, caps: EndCaps
) -> None:
    choice = choose_end_caps(EndCaps.AUTO, *writer)
    assert choice.end_caps is caps and choice.system == system and choice.requested is EndCaps.AUTO
    assert system in choice.reason and "--end-caps" in choice.reason


def test_anonymised_manufacturer_falls_back_to_the_vendor_uid_root() -> None:
    """The shared Eclipse plan says Manufacturer 'manufacturer', model 'model': its UIDs are Varian's."""
    choice = choose_end_caps(EndCaps.AUTO, "manufacturer", "model", "1.2.246.352.71.4.320687012.1")
    assert choice.end_caps is EndCaps.NONE and choice.system == "Varian Eclipse"
    assert "UID root" in choice.reason


def test_an_unknown_system_gets_half_caps_and_says_so() -> None:
    choice = choose_end_caps(EndCaps.AUTO, "Elekta", "Monaco", "1.2.840.1")
    assert choice.end_caps is EndCaps.HALF and choice.system is None
    assert "'Elekta' / 'Monaco'" in choice.reason and "not in plancheck's table" in choice.reason
    assert identify_system(None, None, None) is None


@pytest.mark.parametrize("caps", [EndCaps.HALF, EndCaps.NONE])
def test_a_convention_chosen_by_the_user_is_kept(caps: EndCaps) -> None:
    choice = choose_end_caps(caps, *ECLIPSE)
    assert choice.end_caps is caps and choice.reason == f"chosen with --end-caps {caps.value}"


def test_every_table_entry_states_its_evidence() -> None:
    for system in SYSTEMS:
        assert system.end_caps in (EndCaps.HALF, EndCaps.NONE)
        assert len(system.evidence) > 40


def test_the_finding_says_what_was_used_and_why() -> None:
    f = choose_end_caps(EndCaps.AUTO, *RAYSTATION).finding()
    assert f.code == "end-caps" and "no caps" in f.message and "RayStation" in f.message
