"""The wheel carries every package and the shipped protocols."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "plancheck" + "".join("." + part for part in d.relative_to(ROOT / "plancheck").parts)
        for d in [ROOT / "plancheck", *(ROOT / "plancheck").rglob("*")]
        if d.is_dir() and (d / "__init__.py").exists()
    }
    data_only = {"plancheck.constraints", "plancheck.schemas"}
    assert found | data_only == listed


def test_shipped_protocols_are_package_data():
    from importlib.resources import files

    names = {p.name for p in files("plancheck.constraints").iterdir() if p.name.endswith(".yaml")}
    assert "spine_sib_30Gy10_40Gy10.yaml" in names
