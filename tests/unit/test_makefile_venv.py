"""The Makefile rebuilds a .venv made by a Python CommonShelf does not support."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).parents[2] / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")


def _dry_install(tmp_path: Path, venv_python: str | None) -> str:
    """`make -n install` in a copy of the Makefile whose .venv's python says `venv_python`
    (a version, or None for a python that no longer runs)."""
    shutil.copy(MAKEFILE, tmp_path / "Makefile")
    for name in ("pyproject.toml", "setup.py", "localization_ext/_hologram.pyx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    if venv_python is None:
        (bin_dir / "python").symlink_to(tmp_path / "gone" / "python3.10")
    else:
        (bin_dir / "python").write_text(f"#!/bin/sh\necho {venv_python}\n")
        (bin_dir / "python").chmod(0o755)
    done = subprocess.run(["make", "-n", "install", f"PYTHON={sys.executable}"],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    return done.stdout


def test_venv_of_unsupported_python_is_rebuilt_saying_so(tmp_path: Path) -> None:
    out = _dry_install(tmp_path, "3.10")
    assert ".venv was made by Python 3.10, which CommonShelf does not support" in out
    assert "rm -rf .venv" in out
    assert out.index("rm -rf .venv") < out.index("-m venv .venv")


def test_venv_whose_python_is_gone_is_rebuilt(tmp_path: Path) -> None:
    out = _dry_install(tmp_path, None)
    assert ".venv has a Python that no longer runs" in out
    assert "rm -rf .venv" in out


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_venv_of_supported_python_is_kept(tmp_path: Path, version: str) -> None:
    out = _dry_install(tmp_path, version)
    assert "rm -rf" not in out
    assert "pip install --quiet -e '.[test]'" in out


def test_requires_python_matches_the_makefile() -> None:
    pyproject = (MAKEFILE.parent / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.14"' in pyproject
    assert "SUPPORTED := 3.11 3.12 3.13" in MAKEFILE.read_text()
