"""One distribution, one top-level name: installing nominal puts ``nominal`` in site-packages and
nothing called ``store``, ``flows`` or ``matching`` that could collide with another package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("connectors", "mappings", "expectations", "matching", "publish", "store", "flows")


@pytest.mark.slow
def test_the_wheel_installs_only_the_nominal_package(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("nominal-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"nominal"}
    for stage in STAGES:  # every stage is inside, with its data files
        assert any(name.startswith(f"nominal/{stage}/") for name in names), stage
    assert "nominal/store/migrations/env.py" in names and "nominal/mappings/police.yaml" in names
    assert "nominal/expectations/suites/police.json" in names and "nominal/publish/rules.yaml" in names


def test_outside_the_repository_only_nominal_is_importable(tmp_path):
    """From another folder (as a scheduler runs it) the stages exist only under nominal."""
    probe = (
        "import importlib, importlib.util, sys\n"
        f"stages = {STAGES!r}\n"
        "found = [s for s in stages if importlib.util.find_spec(s) is not None]\n"
        "assert not found, found\n"
        "for s in stages:\n"
        "    importlib.import_module('nominal.' + s)\n"
        "import nominal.cli\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
