"""The README's Python example and its first-community walkthrough run as written."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_readme_python_example_runs():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", readme, re.S)
    exec(compile(example, "README.md", "exec"), {})


@pytest.mark.anvil
def test_readme_walkthrough_runs_as_written_on_a_devnet_started_today(tmp_path):
    """The block under the walkthrough marker, in bash (-e: any failing command fails the test),
    in an empty folder, with its own devnet state and manifests (the user's devnet is untouched)."""
    # the walkthrough's dates are the devnet's today and the next days: a meter registered in the last
    # minutes of a UTC day starts its readings at the next midnight, one day later than the README
    # says; so close to midnight the test waits for the new day
    left = 86_400 - time.time() % 86_400
    if left < 20 * 60:
        time.sleep(left + 5)
    readme = (ROOT / "README.md").read_text()
    [block] = re.findall(r"<!-- walkthrough: tests/test_readme.py runs this block -->\n```sh\n(.*?)```", readme, re.S)
    script = tmp_path / "walkthrough.sh"
    script.write_text("set -euo pipefail\n" + block)
    env = dict(os.environ,
               PATH=f"{Path(sys.executable).parent}:{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
               GRIDSHARE_STATE_DIR=str(tmp_path / "state"), GRIDSHARE_DEPLOYMENTS_DIR=str(tmp_path / "deployments"))
    for name in ("GRIDSHARE_COMMUNITY_SALT", "GRIDSHARE_METER_PASSWORD", "GRIDSHARE_PRIVATE_KEY"):
        env.pop(name, None)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(["bash", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"\b3 runs \(\d+ intervals\) verified", out), out  # the rest of today and two whole days
    assert "pending approval" in out and "issued 1" in out  # the certificate of tomorrow
    assert "traded 1,000 Wh at 0.15/kWh (bid 2, ask 1)" in out
