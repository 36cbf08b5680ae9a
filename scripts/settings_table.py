"""Render the README's settings table from reweb.config.SPECS (the one source of truth).

python3 scripts/settings_table.py          # print it
python3 scripts/settings_table.py --write  # rewrite the README between the settings markers
"""

from __future__ import annotations

import sys
from pathlib import Path

from reweb.config import SPECS

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def table() -> str:
    rows = ["| setting | aliases | default | what it does |", "|---|---|---|---|"]
    for spec in SPECS:
        aliases = ", ".join(f"`{name}`" for name in spec.names[1:]) or "-"
        default = f"`{spec.default}`" if spec.default else "-"
        rows.append(f"| `{spec.names[0]}` | {aliases} | {default} | {spec.help} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        README.write_text(render(README.read_text()))
    else:
        print(table())
