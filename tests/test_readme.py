"""The README's settings table is generated from reweb.config.SPECS: keep them in step."""

from pathlib import Path

from scripts.settings_table import END, START, table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_settings_table_is_current() -> None:
    text = README.read_text()
    section = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == table(), "run: python3 scripts/settings_table.py --write"


def test_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:30])
    assert "bash demo/run.sh" in first_screen
    assert "bash scripts/test" in first_screen
    assert (README.parent / "demo" / "run.sh").exists()
