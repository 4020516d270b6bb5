"""Every import-linter contract in pyproject.toml can fail: on a copy of the source tree with
one deliberate violation per contract, `lint-imports` reports each contract broken (and the
real tree keeps them all, which `make test` checks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("api", "tenants", "projections", "domain", "infra", "localization_ext")

# contract name → (a module to add, what it imports): one violation each
VIOLATIONS = {
    "Layers: api above tenants above projections above domain; infra apart":
        ("projections/_violation.py", "import tenants.scope"),
    "The domain does no I/O and knows no framework":
        ("domain/shared/_violation.py", "import psycopg"),
    "Domain contexts do not import each other (domain.shared is for all)":
        ("domain/acquisition/_violation.py", "import domain.catalog.errors"),
    "infra is adapters only":
        ("infra/_violation.py", "import domain.shared.clock"),
    "localization_ext stands alone":
        ("localization_ext/_violation.py", "import infra.settings"),
    "The GraphQL and REST faces never import infra":
        ("api/graphql/_violation.py", "import infra.settings"),
    "The GraphQL and REST faces never import a read model's SQL":
        ("api/rest/_violation.py", "import projections.local_catalog.postgres"),
}


def _contracts() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_a_violation_to_show_it_can_fail() -> None:
    assert sorted(_contracts()) == sorted(VIOLATIONS)


def test_each_contract_fails_on_its_deliberate_violation(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, statement in VIOLATIONS.values():
        (tmp_path / module).write_text(f"{statement}  # a deliberate violation\n")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                            check=False, timeout=300)
    assert result.returncode != 0, result.stdout
    for name in VIOLATIONS:
        assert f"{name} BROKEN" in result.stdout, (name, result.stdout[-3000:])
