"""The package type-checks: mypy, configured in pyproject.toml ([tool.mypy]), reports no error.

Runs mypy in-process on the files the configuration names (the whole ``gridshare`` package), with
its incremental cache in ``.mypy_cache/`` (a cold run takes about ten seconds, a warm one a few).
"""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[1]


def test_package_type_checks(monkeypatch):
    monkeypatch.chdir(ROOT)  # the configuration's paths are relative to the project root
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                           "--cache-dir", str(ROOT / ".mypy_cache")])
    assert status == 0, f"mypy found type errors (run `.venv/bin/mypy` to see them):\n{stdout}{stderr}"
