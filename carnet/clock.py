"""The one clock. Jobs and tests inject a fixed one; nothing else calls ``datetime.now``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that moves only when told: for tests and ``carnet jobs run --today``."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 15, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta


_clock: Clock = SystemClock()


def now() -> datetime:
    return _clock.now()


def today() -> date:
    return _clock.now().date()


def set_clock(clock: Clock) -> Clock:
    """Replace the process clock; returns the previous one so a caller can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous
