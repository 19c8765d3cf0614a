"""Audit events as table rows, and files that hold them durably and say where to resume: a CSV file appended
to row by row, or a directory of Parquet parts (when pyarrow is installed). A writer that was killed leaves
at most one torn CSV row, which the next open removes; the next AuditStream then starts after the last
complete row, so a resumed export has no gap and no duplicate."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from . import messages as pb

#: The columns of an exported audit event, in file order.
AUDIT_COLUMNS = ("sequence", "time_unix_ms", "actor", "patient", "action", "outcome", "basis", "purpose",
                 "categories", "released_record_ids", "deciding_grant_ids", "emergency", "emergency_access_id",
                 "reason", "block_height", "entry_index", "ledger_entry_sha256")


def audit_row(logged: pb.LoggedAuditEvent) -> dict[str, Any]:
    """One event as a row: enums by name, lists joined with spaces, the ledger entry by its SHA-256 (the leaf
    it is in the log under is SHA-256(0x00 || entry))."""
    event = logged.event
    return {
        "sequence": event.sequence, "time_unix_ms": event.time_unix_ms, "actor": event.actor,
        "patient": event.patient, "action": pb.Action.Name(event.action), "outcome": pb.Outcome.Name(event.outcome),
        "basis": pb.DecisionBasis.Name(event.basis), "purpose": pb.Purpose.Name(event.purpose),
        "categories": " ".join(pb.DataCategory.Name(category) for category in event.categories),
        "released_record_ids": " ".join(record.record_id for record in event.released_records),
        "deciding_grant_ids": " ".join(event.deciding_grant_ids), "emergency": event.emergency,
        "emergency_access_id": event.emergency_access_id if event.HasField("emergency_access_id") else "",
        "reason": event.reason, "block_height": event.block_height, "entry_index": event.entry_index,
        "ledger_entry_sha256": hashlib.sha256(logged.ledger_entry).hexdigest(),
    }


class AuditSink(Protocol):
    """Where exported audit rows go."""

    def last_sequence(self) -> int | None:
        """The sequence of the last row durably written, None when there is none."""
        ...

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Writes rows (in sequence order, after last_sequence()) durably."""
        ...

    def close(self) -> None:
        """Flushes and releases the file."""
        ...


def complete_csv_prefix(text: str, column_count: int) -> tuple[list[list[str]], int]:
    """The rows of CSV `text` that are complete (every column, ended by a newline outside quotes) and the
    length, in characters, of the text they span; a torn last row is left out."""
    consumed = 0
    good_rows: list[list[str]] = []
    good_end = 0

    def lines() -> Iterable[str]:
        nonlocal consumed
        for match in re.finditer(r"[^\n]*\n|[^\n]+$", text):
            consumed = match.end()
            yield match.group(0)

    reader = csv.reader(lines(), strict=True)
    try:
        for row in reader:
            if len(row) != column_count or not text[:consumed].endswith("\n"):
                break
            good_rows.append(row)
            good_end = consumed
    except csv.Error:
        pass
    return good_rows, good_end


class CsvAuditSink:
    """A CSV file with a header row, appended to and fsynced batch by batch; a torn last row (the writer was
    killed mid-row) is cut off when the file is opened again."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._last: int | None = None
        if self.path.exists():
            data = self.path.read_bytes()
            text = data.decode("utf-8")
            rows, end = complete_csv_prefix(text, len(AUDIT_COLUMNS))
            if rows and tuple(rows[0]) != AUDIT_COLUMNS:
                raise ValueError(f"{self.path} is not an audit export: its header is {','.join(rows[0])}")
            good_bytes = len(text[:end].encode("utf-8"))
            if good_bytes != len(data):
                with self.path.open("r+b") as file:
                    file.truncate(good_bytes)
                    os.fsync(file.fileno())
            if len(rows) > 1:
                self._last = int(rows[-1][0])
            new_file = not rows
        else:
            new_file = True
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._file, fieldnames=AUDIT_COLUMNS, lineterminator="\n")
        if new_file:
            self._file.truncate(0)
            self._writer.writeheader()
            self._sync()

    def last_sequence(self) -> int | None:
        """The sequence of the last complete row, None when the file has none."""
        return self._last

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Appends rows and fsyncs them."""
        wrote = False
        for row in rows:
            self._writer.writerow(row)
            self._last = int(row["sequence"])
            wrote = True
        if wrote:
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Flushes and closes the file."""
        if not self._file.closed:
            self._sync()
            self._file.close()


def parquet_available() -> bool:
    """Whether pyarrow can be imported (Parquet export needs it; CSV does not)."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


class ParquetAuditSink:
    """A directory of Parquet files, one per appended batch (`part-<first sequence>-<last sequence>.parquet`),
    each written to a temporary name and renamed into place, so a part is whole or absent. Read the directory
    as one table with `pyarrow.parquet.read_table(path)`."""

    def __init__(self, path: str | os.PathLike[str]):
        import pyarrow as pa

        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob(".part-*.tmp"):
            leftover.unlink()
        ends = [int(match.group(1)) for part in self.path.glob("part-*.parquet")
                if (match := re.fullmatch(r"part-\d+-(\d+)\.parquet", part.name))]
        self._last: int | None = max(ends) if ends else None
        self._schema = pa.schema([
            ("sequence", pa.uint64()), ("time_unix_ms", pa.int64()), ("actor", pa.string()),
            ("patient", pa.string()), ("action", pa.string()), ("outcome", pa.string()), ("basis", pa.string()),
            ("purpose", pa.string()), ("categories", pa.string()), ("released_record_ids", pa.string()),
            ("deciding_grant_ids", pa.string()), ("emergency", pa.bool_()), ("emergency_access_id", pa.string()),
            ("reason", pa.string()), ("block_height", pa.uint64()), ("entry_index", pa.uint64()),
            ("ledger_entry_sha256", pa.string())])

    def last_sequence(self) -> int | None:
        """The highest sequence in any part, None when there is none."""
        return self._last

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Writes the rows as one new part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = list(rows)
        if not rows:
            return
        first, last = rows[0]["sequence"], rows[-1]["sequence"]
        table = pa.Table.from_pylist(rows, schema=self._schema)
        temporary = self.path / f".part-{first:020d}-{last:020d}.tmp"
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        with temporary.open("wb") as file:
            file.write(buffer.getvalue())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path / f"part-{first:020d}-{last:020d}.parquet")
        descriptor = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._last = last

    def close(self) -> None:
        """Nothing is buffered between appends."""
