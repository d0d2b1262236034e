"""The documentation: a short README over a MkDocs site that builds strictly and speaks to users."""

import re
import subprocess
import sys
from pathlib import Path

from nyc_rental_tests.conftest import REPO

PAGES = sorted((REPO / "docs").rglob("*.md"))
# Words of how the code got here, not of what it does: they belong to git log.
HISTORY = re.compile(r"\b(issue \d+|issues? #?\d+|round|rounds|this session|previous session)\b", re.I)


def test_the_site_builds_strictly_with_every_page_in_its_navigation(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", tmp_path / "site"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("getting-started", "configuration", "production", "performance", "architecture", "troubleshooting"):
        assert (tmp_path / "site" / page / "index.html").exists(), page


def test_the_readme_is_a_short_door_with_the_two_set_up_commands_first():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    commands = re.findall(r"^make \w+", text, re.M)
    assert commands[:2] == ["make demo", "make test"], commands
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).exists(), link


def test_no_page_speaks_of_how_the_code_got_here():
    assert len(PAGES) >= 10
    found = [f"{page.relative_to(REPO)}: {m.group(0)!r}" for page in [REPO / "README.md", *PAGES]
             for m in HISTORY.finditer(page.read_text())]  # fmt: skip
    assert not found, found
