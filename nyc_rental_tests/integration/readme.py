"""The documentation's commands, as the walkthrough and production tests run them.

The walkthrough is the page docs/getting-started.md; the production profile's commands are on docs/production.md
(its title, `# Production profile`, is the section test_production.py asks for).
"""

import re
import textwrap
from pathlib import Path

from nyc_rental_tests.integration.dagster_dev import REPO

DOCS = REPO / "docs"
WALKTHROUGH = DOCS / "getting-started.md"
PRODUCTION = "Production profile"


def page_text(page: Path = WALKTHROUGH) -> str:
    return page.read_text()


def walkthrough_text() -> str:
    """The walkthrough page, whose ```bash blocks the walkthrough test runs."""
    return page_text(WALKTHROUGH)


def readme_text() -> str:
    return (REPO / "README.md").read_text()


def _heading_section(title: str, text: str) -> str | None:
    """The text under the heading `title` (any level) of `text`, up to the next heading of the same or a higher
    level (headings inside fenced code blocks are not headings)."""
    lines = text.splitlines(keepends=True)
    fenced, start, level = False, None, 0
    for number, line in enumerate(lines):
        if re.match(r"^ *(```|~~~)", line):
            fenced = not fenced
            continue
        heading = None if fenced else re.match(r"^(#{1,6}) +(.*?) *#* *$", line)
        if heading is None:
            continue
        if start is None:
            if heading.group(2) == title:
                start, level = number + 1, len(heading.group(1))
        elif len(heading.group(1)) <= level:
            return "".join(lines[start:number])
    return None if start is None else "".join(lines[start:])


def section(title: str, text: str | None = None) -> str:
    """The text under the heading `title` of `text`, or of the one documentation page (README.md, docs/**/*.md)
    that has such a heading, up to the next heading of the same or a higher level."""
    if text is not None:
        found = _heading_section(title, text)
        assert found is not None, f"no section '{title}' in the text given"
        return found
    pages = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
    found = {page: _heading_section(title, page.read_text()) for page in pages}
    found = {page: body for page, body in found.items() if body is not None}
    assert len(found) == 1, f"expected one page with a heading '{title}', found {sorted(map(str, found))}"
    return next(iter(found.values()))


def without_section(title: str, text: str | None = None) -> str:
    text = text if text is not None else walkthrough_text()
    body = _heading_section(title, text)
    return text if body is None else text.replace(body, "")


def bash_commands(text: str) -> list[str]:
    """Every command of the ```bash blocks of `text` (comments dropped, continued lines joined)."""
    commands = []
    for block in re.findall(r"^ *```bash\n(.*?)^ *```", text, re.S | re.M):
        block_text = re.sub(r"(?m)^\s*#.*\n?", "", textwrap.dedent(block))
        block_text = re.sub(r"\s+#[^'\"\n]*$", "", block_text, flags=re.M)  # a comment after a command
        for command in re.split(r"\n(?=\S)", block_text.strip()):
            if command.strip():
                commands.append(command.strip())
    return commands
