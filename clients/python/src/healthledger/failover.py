"""Which of a client's node targets a call tries, and in what order, without any I/O: the target in use first,
then the others that have not failed lately, in turn after it; targets that failed lately come last, the one back
soonest first. Calls stay on a target until it fails; a failed target is passed over for `downtime` seconds. The
same rules as the Swift client's FailoverClientTransport (EndpointRotation)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

#: How long a target that failed is passed over while others work, in seconds.
DEFAULT_DOWNTIME = 2.0


def parse_targets(target: str | Sequence[str]) -> list[str]:
    """The node targets a client was given: one "host:port", several separated by commas ("a:7443,b:7443",
    spaces ignored), or a sequence of them. ValueError for none or an empty one."""
    parts = target.split(",") if isinstance(target, str) else list(target)
    targets = [part.strip() for part in parts]
    if not targets or any(not part for part in targets):
        raise ValueError(f"bad target list {target!r}: write host:port, or host:port,host:port for several nodes")
    return targets


class TargetRotation:
    """The order calls try a client's `count` targets in; thread-safe. Times come from `clock` (seconds)."""

    def __init__(self, count: int, downtime: float = DEFAULT_DOWNTIME,
                 clock: Callable[[], float] = time.monotonic):
        if count < 1:
            raise ValueError("a rotation needs at least one target")
        self.count = count
        self.downtime = downtime
        self._clock = clock
        self._lock = threading.Lock()
        self._current = 0
        self._down_until: list[float | None] = [None] * count

    @property
    def current(self) -> int:
        """The target calls go to while it works."""
        with self._lock:
            return self._current

    def is_down(self, index: int, now: float | None = None) -> bool:
        """Whether target `index` failed less than `downtime` before `now`."""
        with self._lock:
            return self._is_down(index, self._clock() if now is None else now)

    def _is_down(self, index: int, now: float) -> bool:
        until = self._down_until[index]
        return until is not None and now < until

    def attempt_order(self, now: float | None = None) -> list[int]:
        """The targets a call tries, in order: every target once."""
        with self._lock:
            now = self._clock() if now is None else now
            ring = [(self._current + offset) % self.count for offset in range(self.count)]
            up = [index for index in ring if not self._is_down(index, now)]
            down = sorted((index for index in ring if self._is_down(index, now)),
                          key=lambda index: (self._down_until[index], ring.index(index)))
            return up + down

    def reached(self, index: int) -> None:
        """A call on `index` succeeded: later calls go there too, and it is no longer down."""
        with self._lock:
            self._current = index
            self._down_until[index] = None

    def failed(self, index: int, now: float | None = None) -> None:
        """`index` could not be reached or answered UNAVAILABLE: it is passed over for `downtime`; when it was the
        one in use, calls move on to the next target that is up (else simply the next)."""
        with self._lock:
            now = self._clock() if now is None else now
            self._down_until[index] = now + self.downtime
            if index != self._current:
                return
            others = [(index + offset) % self.count for offset in range(1, self.count)]
            self._current = next((other for other in others if not self._is_down(other, now)),
                                 (index + 1) % self.count)
