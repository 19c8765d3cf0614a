"""Where a resumed audit stream starts (ledger_service.proto, AuditStreamRequest.start_sequence), kept apart
from the connection so the rule is tested without sockets: never a gap, never a duplicate."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import VerificationError


@dataclass
class AuditResumePoint:
    """The position of an audit stream across reconnections.

    `start_sequence` is what the caller first asked for: 1 replays everything, n resumes after n - 1, 0 means
    only events committed after the call starts. After a drop the stream resumes at the last delivered
    sequence plus 1; for a live-only stream that delivered nothing yet, after the head sequence its replay
    marker named (events after it arrive live, so none is skipped)."""

    start_sequence: int = 1
    last_sequence: int | None = None
    head_sequence: int | None = field(default=None, repr=False)

    def next_start_sequence(self) -> int:
        """The start_sequence of the next AuditStream call."""
        if self.last_sequence is not None:
            return self.last_sequence + 1
        if self.start_sequence == 0 and self.head_sequence is not None:
            return self.head_sequence + 1
        return self.start_sequence

    def admit(self, sequence: int) -> bool:
        """Whether the event at `sequence` is new (then it becomes the last delivered); False for one already
        delivered, which a replay after a reconnection may send again."""
        if self.last_sequence is not None and sequence <= self.last_sequence:
            return False
        if self.start_sequence > 0 and sequence < self.start_sequence:
            raise VerificationError(f"audit event {sequence} arrived on a stream asked to start at "
                                    f"{self.start_sequence}")
        self.last_sequence = sequence
        return True

    def replay_completed(self, head_sequence: int) -> None:
        """Notes the head sequence a replay marker named."""
        if self.head_sequence is None or head_sequence > self.head_sequence:
            self.head_sequence = head_sequence
