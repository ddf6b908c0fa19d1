"""``plancheck phantom --reirradiation``: folders written, options refused with exit 2."""

from __future__ import annotations

from click.testing import CliRunner

from plancheck.cli import main
from plancheck.phantoms.reirradiation import VARIANTS


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_one_variant_writes_prior_and_current(tmp_path):
    result = run("phantom", str(tmp_path), "--reirradiation", "rotation")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "prior").iterdir()) == [
        "RD.SPINE_30.dcm",
        "RP.SPINE_30.dcm",
        "RS.PRIOR.dcm",
        "RT.SPINE_30.dcm",
    ]
    assert sorted(p.name for p in (tmp_path / "current").iterdir()) == [
        "RD.SBRT_24.dcm",
        "RE.REGISTRATION.dcm",
        "RP.SBRT_24.dcm",
        "RS.SBRT.dcm",
    ]
    assert "registration RE.REGISTRATION.dcm" in result.output


def test_all_variants(tmp_path):
    result = run("phantom", str(tmp_path), "--reirradiation", "all")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(VARIANTS.values())
    assert not (tmp_path / "reirr_identity" / "current" / "RE.REGISTRATION.dcm").exists()
    assert "no registration" in result.output


def test_shape_options_and_spine_are_refused(tmp_path):
    result = run("phantom", str(tmp_path), "--reirradiation", "identity", "--fractions", "5")
    assert result.exit_code == 2 and "takes no --fractions" in result.output
    result = run("phantom", str(tmp_path), "--reirradiation", "identity", "--spine", "all")
    assert result.exit_code == 2 and "not both" in result.output
    assert not any(tmp_path.iterdir())
