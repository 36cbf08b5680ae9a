"""Tables printed as aligned text and written as markdown, and the targets table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def fmt(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        widths = [max(len(str(c)) for c in col) for col in zip(self.columns, *self.rows, strict=False)]
        line = "  ".join("-" * w for w in widths)
        out = [f"== {self.title} ==", "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)), line]
        for row in self.rows:
            last = len(row) - 1
            cells = [c.rjust(w) if 0 < i < last else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths, strict=True))]
            out.append("  ".join(cells))
        out += [f"  {note}" for note in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
               "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"]
        out += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {note}" for note in self.notes]
        return "\n".join(out) + "\n"


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured


class Report:
    def __init__(self) -> None:
        self.tables: list[Table] = []
        self.targets: list[Target] = []

    def show(self, table: Table) -> None:
        self.tables.append(table)
        print(table.text(), end="\n\n", flush=True)

    def target(self, name: str, goal: str, measured: str, met: bool | None) -> None:
        self.targets.append(Target(name, goal, measured, met))

    def targets_table(self) -> Table:
        table = Table("Targets", ["target", "goal", "measured", "result"])
        for t in self.targets:
            table.add(t.name, t.goal, t.measured, "not measured" if t.met is None else "MET" if t.met else "NOT MET")
        return table

    def markdown(self, header: str) -> str:
        parts = [header, self.targets_table().markdown()]
        parts += [t.markdown() for t in self.tables]
        return "\n".join(parts)
