"""The README's commands, as the walkthrough and production tests run them."""

import re
import textwrap

from nyc_rental_tests.integration.dagster_dev import REPO

PRODUCTION = "Production profile"


def readme_text() -> str:
    return (REPO / "README.md").read_text()


def section(title: str, text: str | None = None) -> str:
    """The text of the README's `## title` section, up to the next `## ` heading."""
    found = re.search(rf"(?ms)^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text or readme_text())
    assert found, f"README has no section '## {title}'"
    return found.group(1)


def without_section(title: str, text: str | None = None) -> str:
    text = text or readme_text()
    return text.replace(section(title, text), "")


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
