"""The count identity of a night: every row read is accounted for, per file.

    rows read = stored + already stored + quarantined + duplicates

``stored`` are calls stored by this run, ``already stored`` calls an earlier
run stored, ``quarantined`` rows that failed validation (a file that could not
be read at all counts no rows and is listed as quarantined whole), and
``duplicates`` later rows repeating a call id of the same night. Both counts of
stored calls are read back from the database, not taken from what the code
meant to do, so a call lost between ingest and storage breaks the identity and
the run fails loudly (:class:`CountMismatch`) instead of reporting fine numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


class CountMismatch(RuntimeError):
    """Rows read do not add up to stored + already stored + quarantined + duplicates."""


@dataclass
class FileCount:
    """What became of the rows of one input file."""

    source: str
    rows_read: int = 0
    stored: int = 0
    already_stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    file_error: str | None = None

    @property
    def accounted(self) -> int:
        return self.stored + self.already_stored + self.quarantined + self.duplicates

    def holds(self) -> bool:
        return self.rows_read == self.accounted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Ledger:
    """What the count identity needs from an ingest, without any raw row: ids, files, reason codes."""

    rows_by_file: dict[str, int]
    sources: dict[str, str]
    bad_files: dict[str, str]
    quarantined: list[tuple[str, int, str]]

    @classmethod
    def of(cls, result: Any) -> Ledger:
        """The ledger of an ``IngestResult``."""
        return cls(
            rows_by_file=dict(result.rows_by_file),
            sources={r.call_id: result.sources.get(r.call_id, "") for r in result.records},
            bad_files={b.source: b.reason for b in result.bad_files},
            quarantined=[(q.source, q.row_number, q.reason_code) for q in result.quarantined],
        )


def count_files(result: Any, stored_before: set[str], present_after: set[str]) -> list[FileCount]:
    """Per-file counts of an ``IngestResult`` (or its :class:`Ledger`) against the call ids stored
    before the run and present after it."""
    ledger = result if isinstance(result, Ledger) else Ledger.of(result)
    counts: dict[str, FileCount] = {}

    def of(source: str) -> FileCount:
        return counts.setdefault(source, FileCount(source))

    for source, rows in ledger.rows_by_file.items():
        of(source).rows_read = rows
    for source, reason in ledger.bad_files.items():
        of(source).file_error = reason
    for source, row_number, code in ledger.quarantined:
        if row_number == 0:
            continue
        if code == "duplicate_call_id":
            of(source).duplicates += 1
        else:
            of(source).quarantined += 1
    for call_id, source in ledger.sources.items():
        entry = of(source)
        if call_id in stored_before:
            entry.already_stored += 1
        elif call_id in present_after:
            entry.stored += 1
    return list(counts.values())


def totals(files: Iterable[FileCount]) -> FileCount:
    """All files added up."""
    total = FileCount("合计")
    for f in files:
        total.rows_read += f.rows_read
        total.stored += f.stored
        total.already_stored += f.already_stored
        total.quarantined += f.quarantined
        total.duplicates += f.duplicates
    return total


def check(files: Iterable[FileCount]) -> None:
    """Raise :class:`CountMismatch` naming every file whose rows do not add up."""
    broken = [f for f in files if not f.holds()]
    if broken:
        detail = "；".join(
            f"{f.source}: 读入 {f.rows_read} ≠ 入库 {f.stored} + 已入库 {f.already_stored} + "
            f"隔离 {f.quarantined} + 重复 {f.duplicates}"
            for f in broken
        )
        raise CountMismatch(f"行数核对失败（有行既未入库也未隔离）: {detail}")


def identity_line(files: list[FileCount]) -> str:
    """The one-line proof for the CLI: totals, and how many files hold the identity."""
    t = totals(files)
    ok = sum(1 for f in files if f.holds())
    return (
        f"核对: 读入 {t.rows_read} = 入库 {t.stored} + 已入库 {t.already_stored} + 隔离 {t.quarantined} + "
        f"重复 {t.duplicates}（{ok}/{len(files)} 个文件逐一相符）"
    )


def identity_markdown(files: list[FileCount]) -> str:
    """The per-file table for the report and the Prefect artifact."""
    lines = [
        "| 文件 | 读入 | 入库 | 已入库 | 隔离 | 重复 | 相符 |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in [*files, totals(files)]:
        name = f.source.rsplit("/", 1)[-1] or f.source
        note = f"整文件隔离: {f.file_error}" if f.file_error else ("是" if f.holds() else "**否**")
        lines.append(
            f"| {name} | {f.rows_read} | {f.stored} | {f.already_stored} | {f.quarantined} | "
            f"{f.duplicates} | {note} |"
        )
    return "\n".join(lines)
