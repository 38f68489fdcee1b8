"""What a load did, per file: format, rows added per table, records rejected and why, seconds."""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass
class FileReport:
    """The outcome of loading one file."""

    path: str
    format: str = ""
    rows_added: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""
    notes: list[str] = field(default_factory=list)
    """Things to know about what loaded, e.g. NaN points kept, points superseded by a restart."""

    @property
    def status(self) -> str:
        """loaded, partly (some records rejected), skipped or rejected (nothing loaded)."""
        if self.skipped:
            return "skipped"
        if self.rejected and not any(self.rows_added.values()):
            return "rejected"
        return "partly" if self.rejected else "loaded"


@dataclass
class LoadReport:
    """Every file of one ``lens.load(...)`` call.

    >>> report = LoadReport([FileReport("a.jsonl", "otlp-json", {"spans": 3}, seconds=0.1)])
    >>> report.rows_added["spans"]
    3
    """

    files: list[FileReport] = field(default_factory=list)

    @property
    def rows_added(self) -> dict[str, int]:
        """Rows added per table over all files."""
        total: dict[str, int] = {}
        for report in self.files:
            for table, rows in report.rows_added.items():
                total[table] = total.get(table, 0) + rows
        return total

    @property
    def rejected(self) -> int:
        """Records rejected over all files (each is in the ``rejects`` table)."""
        return sum(report.rejected for report in self.files)

    def __str__(self) -> str:
        lines: list[str] = []
        for report in self.files:
            added = ", ".join(f"{rows:,} {table}" for table, rows in report.rows_added.items() if rows) or "nothing"
            first = len(lines)
            lines.append(f"{report.path} [{report.format or '?'}] {report.status}: {added}")
            if report.skipped:
                lines.append(f"    {report.skipped}")
            if report.rejected:
                lines.append(f"    {report.rejected:,} records rejected, e.g. " + "; ".join(report.reasons[:3]))
            lines += [f"    {note}" for note in report.notes]
            lines[first] += f" ({report.seconds:.2f} s)"
        return "\n".join(lines) or "no files"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for r in self.files:
            added = ", ".join(f"{n:,} {t}" for t, n in r.rows_added.items() if n) or "nothing"
            why = "; ".join([r.skipped, *r.reasons[:3], *r.notes]).strip("; ")
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(cell))}</td>"
                    for cell in (r.path, r.format, r.status, added, f"{r.rejected:,}", why, f"{r.seconds:.2f}")
                )
                + "</tr>"
            )
        head = "".join(f"<th>{h}</th>" for h in ("file", "format", "status", "added", "rejected", "why", "s"))
        return f"<table class='llmlens-load-report'><tr>{head}</tr>{''.join(rows)}</table>"
