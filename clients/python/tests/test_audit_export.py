"""Where a resumed audit stream starts, and the CSV file that an export appends to: no gap, no duplicate,
and a row torn by a killed writer is cut off on the next open."""

import csv

import pytest

from healthledger import AuditResumePoint, VerificationError
from healthledger.audit_export import AUDIT_COLUMNS, CsvAuditSink, complete_csv_prefix


def test_resume_starts_after_the_last_delivered_event_and_drops_repeats():
    position = AuditResumePoint(start_sequence=5)
    assert position.next_start_sequence() == 5
    assert [position.admit(sequence) for sequence in (5, 9, 12)] == [True, True, True]
    assert position.next_start_sequence() == 13
    assert [position.admit(sequence) for sequence in (9, 12, 13)] == [False, False, True]
    with pytest.raises(VerificationError):
        AuditResumePoint(start_sequence=5).admit(4)


def test_a_live_only_stream_resumes_after_the_head_its_replay_marker_named():
    position = AuditResumePoint(start_sequence=0)
    assert position.next_start_sequence() == 0
    position.replay_completed(41)
    assert position.next_start_sequence() == 42  # events after 41 came live: none may be skipped
    position.admit(44)
    assert position.next_start_sequence() == 45


def row(sequence: int, reason: str = "ok") -> dict:
    values = {column: "" for column in AUDIT_COLUMNS}
    values.update(sequence=sequence, reason=reason)
    return values


def test_csv_export_continues_after_its_last_complete_row_and_cuts_a_torn_one(tmp_path):
    path = tmp_path / "audit.csv"
    sink = CsvAuditSink(path)
    assert sink.last_sequence() is None
    sink.append([row(1), row(2, "two\nlines, quoted")])
    sink.close()
    assert CsvAuditSink(path).last_sequence() == 2
    whole = path.read_bytes()
    for torn in (b"3,", b'3,,,,,,,,,,,,,"half\n', b"3" + b"," * (len(AUDIT_COLUMNS) - 1)):
        path.write_bytes(whole + torn)
        reopened = CsvAuditSink(path)
        assert reopened.last_sequence() == 2
        reopened.close()
        assert path.read_bytes() == whole
    sink = CsvAuditSink(path)
    sink.append([row(3)])
    sink.close()
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["sequence"]) for r in rows] == [1, 2, 3]
    assert rows[1]["reason"] == "two\nlines, quoted"


def test_complete_csv_prefix_keeps_only_whole_rows():
    rows, end = complete_csv_prefix('a,b\n1,"x\ny"\n2,', 2)
    assert rows == [["a", "b"], ["1", "x\ny"]] and end == len('a,b\n1,"x\ny"\n')


def test_a_file_that_is_not_an_audit_export_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text(",".join(f"c{i}" for i in range(len(AUDIT_COLUMNS))) + "\n")
    with pytest.raises(ValueError, match="not an audit export"):
        CsvAuditSink(path)
