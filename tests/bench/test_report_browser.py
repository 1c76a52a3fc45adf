"""The report in a real browser: headless Chromium loads it from disk with no console message,
renders it (a screenshot that is not blank), ``#episode=KEY`` opens that episode, and a click on
a leaderboard header sorts the rows by that column.

Chromium is Debian's ``chromium`` package (.ci/run installs it). Without it the test fails and
says how to install it; it is skipped only when ``BLASTRADIUS_NO_BROWSER=1`` says so on purpose.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from blastradius.bench.cli import main

FAMILY = "freeze_prod_db"
RECKLESS = f"{FAMILY}/logs/0/0/reckless"
# Chromium's switches for a quiet, offline, throwaway session (its own profile folder is added).
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--window-size=1280,1600")
# A blank page of that size is a few KB as PNG; the report's first screen is far more.
_RENDERED_BYTES = 30_000


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("BLASTRADIUS_NO_BROWSER") == "1":
        pytest.skip("BLASTRADIUS_NO_BROWSER=1: the browser test is skipped on purpose")
    pytest.fail("no chromium on PATH: install it (apt-get install -y chromium, as .ci/run does), or set "
                "BLASTRADIUS_NO_BROWSER=1 to skip this test on purpose")


def _browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120, check=True)


def test_chromium_renders_the_report_and_opens_the_episode_in_the_url(tmp_path: Path) -> None:
    chromium = _chromium()
    assert main(["run", "--agent", "reckless", "--agent", "careful", "--family", FAMILY, "--seeds", "1",
                 "--output-dir", str(tmp_path / "runs"), "--quiet"]) == 0
    [folder] = (tmp_path / "runs").iterdir()
    # The page as written, and one click on the Damage header once it has loaded.
    page = (folder / "report.html").read_text(encoding="utf-8")
    click = ("<script>Array.prototype.find.call(document.querySelectorAll('#leaderboard-table th'), "
             "function (th) { return th.textContent === 'Damage'; }).click();</script>")
    clicked = tmp_path / "clicked.html"
    clicked.write_text(page.replace("</body>", click + "</body>"), encoding="utf-8")
    url = clicked.as_uri() + "#episode=" + quote(RECKLESS, safe="")

    loaded = _browse(chromium, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    opened = re.findall(r'<details class="episode"[^>]*>', loaded.stdout)
    assert len(opened) == 2, "both episodes are in the page the browser built"
    [reckless] = [tag for tag in opened if f'data-key="{RECKLESS}"' in tag]
    assert re.search(r"\bopen\b", reckless), reckless
    assert all(not re.search(r"\bopen\b", tag) for tag in opened if tag != reckless)
    board = loaded.stdout[loaded.stdout.index('id="leaderboard-table"'):]
    agents = re.findall(r'<tr[^>]*><td data-sort="([^"]+)">', board[:board.index("</table>")])
    assert agents == ["reckless", "careful"], "sorted by damage, most first (the table's own order is the reverse)"

    screenshot = tmp_path / "report.png"
    _browse(chromium, tmp_path / "profile", f"--screenshot={screenshot}", (folder / "report.html").as_uri())
    assert screenshot.stat().st_size > _RENDERED_BYTES, screenshot.stat().st_size
