"""Every list of the shop's packages names the same ones: the kernel `shop` and `Config.DOMAIN_PACKAGES`
(config.py). The Makefile compiles the catalogues of its list, the import contracts check the layers of
theirs, scripts/i18n.sh extracts the messages of its own: a package missing from one of them is left out
of that step without a word (the admin's catalogue was not compiled, so its pages showed Chinese in
English on a fresh checkout). A new package goes into each list; this test names the one forgotten."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from config import Config
from tests.catalogue_packages import CATALOGUE_PACKAGES

ROOT = Path(__file__).resolve().parent.parent
ALL = {"shop", *Config.DOMAIN_PACKAGES}
#: the packages with text of their own to translate (ledger and demo have none)
WITH_TEXT = {pkg for pkg in ALL if (ROOT / pkg / "translations").is_dir()}


def test_the_makefile_compiles_the_catalogues_of_every_package():
    found = re.search(r"^PKGS := (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert found is not None
    assert set(found.group(1).split()) == ALL


def test_the_import_contracts_cover_every_package():
    linter = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert set(linter["root_packages"]) == ALL
    kinds = set()
    for contract in linter["contracts"]:
        kinds.add(contract["type"])
        if contract["type"] == "layers":
            assert {name.strip() for layer in contract["layers"] for name in layer.split("|")} == ALL
        elif contract["type"] == "acyclic_siblings":
            assert set(contract["ancestors"]) == ALL
    assert kinds == {"layers", "acyclic_siblings"}


def test_the_translation_script_and_the_catalogue_test_name_every_package_with_text():
    assert {"shop", "admin", "county"} <= WITH_TEXT and not {"ledger", "demo"} & WITH_TEXT
    found = re.search(r"^ALL_PKGS=\(([^)]*)\)", (ROOT / "scripts" / "i18n.sh").read_text(encoding="utf-8"), re.M)
    assert found is not None
    assert set(found.group(1).split()) == WITH_TEXT
    assert set(CATALOGUE_PACKAGES) == WITH_TEXT
