#!/usr/bin/env python3
"""A researcher's (or patient's) export of a patient's audit trail: streams the audit events to a CSV file,
or to a directory of Parquet files when pyarrow is installed, and picks up where it stopped.

    audit_to_csv.py --identity researcher.pem --patient hl1... --output audit.csv [--follow]
    audit_to_csv.py --identity researcher.pem --patient hl1... --output audit.parquet --format parquet

Run it again with the same --output and it continues after the last event the file holds; if the connection
drops or the node restarts while it runs, it reconnects and resumes from there too. The file never misses
an event and never holds one twice. Without --follow it stops once it has every event committed so far;
with --follow it keeps writing new events until stopped (Ctrl-C or SIGTERM, which flush what was received).

The patient and holders of an active AUDIT_READ grant of the patient see every event; anyone else only the
events of their own actions on the patient (ledger_service.proto, AuditStream)."""

import argparse
import signal
import sys
from pathlib import Path

from healthledger import IdentityFileError, LedgerError, VerificationError
from healthledger.audit_export import CsvAuditSink, ParquetAuditSink, audit_row, parquet_available
from healthledger.command_line import add_connection_arguments, client_from_arguments, identity_from_arguments
from healthledger.errors import InvalidPrincipalId


class Stop(Exception):
    """SIGTERM: flush and end, as for Ctrl-C."""


def export(client, sink, patient: str, follow: bool, batch_size: int, reconnect_timeout: float) -> tuple[int, int | None]:
    """Streams events after the sink's last one into it; returns (events written, last sequence)."""
    start = (sink.last_sequence() or 0) + 1
    batch: list[dict] = []
    written = 0
    live = False

    def flush() -> None:
        nonlocal written
        if batch:
            sink.append(batch)
            written += len(batch)
            batch.clear()

    def replay_completed(_head_sequence: int) -> None:
        nonlocal live
        flush()
        live = True

    try:
        for logged in client.audit_stream(patient, start_sequence=start, follow=follow,
                                          reconnect_timeout=reconnect_timeout, on_replay_completed=replay_completed):
            batch.append(audit_row(logged))
            # While replaying, batches keep fsyncs few; once live, each event is written as it comes.
            if live or len(batch) >= batch_size:
                flush()
    finally:
        flush()
    return written, sink.last_sequence()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_connection_arguments(parser)
    parser.add_argument("--patient", help="principal id of the patient (default: you)")
    parser.add_argument("--output", type=Path, required=True, help="CSV file, or Parquet directory, to write")
    parser.add_argument("--format", choices=("csv", "parquet"),
                        help="default: parquet when --output ends in .parquet, else csv")
    parser.add_argument("--follow", action="store_true", help="keep writing new events until stopped")
    parser.add_argument("--batch-size", type=int, default=500, help="rows per write while replaying")
    parser.add_argument("--reconnect-timeout", type=float, default=60.0,
                        help="seconds to keep trying to reach a node that went away (default 60)")
    args = parser.parse_args(argv)
    output_format = args.format or ("parquet" if args.output.suffix == ".parquet" else "csv")
    if output_format == "parquet" and not parquet_available():
        print("error: Parquet output needs pyarrow (hint: pip install 'healthledger[parquet]', or write CSV)",
              file=sys.stderr)
        return 5
    try:
        identity = identity_from_arguments(args)
    except IdentityFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 5

    def stop(_signal: int, _frame: object) -> None:
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    sink = ParquetAuditSink(args.output) if output_format == "parquet" else CsvAuditSink(args.output)
    written, last = 0, sink.last_sequence()
    try:
        with client_from_arguments(args, identity) as client:
            written, last = export(client, sink, args.patient or identity.principal_id, args.follow,
                                   args.batch_size, args.reconnect_timeout)
    except (KeyboardInterrupt, Stop):
        last = sink.last_sequence()
    except InvalidPrincipalId as error:
        print(f"error: {error}", file=sys.stderr)
        return 5
    except (LedgerError, VerificationError) as error:
        print(f"error: {error} (the file holds every event up to sequence {sink.last_sequence()}; run again "
              f"to resume)", file=sys.stderr)
        return 4 if isinstance(error, LedgerError) and error.code.name in ("UNAVAILABLE", "DEADLINE_EXCEEDED") else 1
    finally:
        sink.close()
    print(f"audit export: {written} new events, last sequence {last}, in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
