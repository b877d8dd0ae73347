"""The INSi-like look-up (ID-3): five traits in, the INS out when the register matches.

Rate-limited per caller: the look-up must not become a way to enumerate the population.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.errors import TooMany
from carnet.identity.traits import Sex, Traits, normalize_name
from carnet.population.models import Patient


class RateLimiter:
    """A sliding window per caller, in memory (one process serves one instance)."""

    def __init__(
        self,
        per_minute: int,
        fr: str = "Trop de recherches d'identité : réessayez dans une minute.",
        en: str = "Too many identity look-ups: try again in a minute.",
    ) -> None:
        self.per_minute = per_minute
        self.fr, self.en = fr, en
        self._calls: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, caller: str) -> None:
        now = clock.now()
        with self._lock:
            calls = self._calls[caller]
            while calls and calls[0] <= now - timedelta(minutes=1):
                calls.popleft()
            if len(calls) >= self.per_minute:
                raise TooMany(self.fr, self.en)
            calls.append(now)


@dataclass(frozen=True)
class InsiAnswer:
    ins: str
    traits: Traits


def look_up(session: Session, traits: Traits) -> InsiAnswer | None:
    """The INS of the one person whose five traits match, or None (none, or ambiguous)."""
    candidates = session.scalars(
        select(Patient).where(
            Patient.birth_date == traits.birth_date, Patient.sex == traits.sex.value
        )
    )
    wanted = traits.normalized()
    found = [
        p
        for p in candidates
        if (normalize_name(p.birth_names), normalize_name(p.first_names)) == wanted[:2]
        and p.birth_place.upper() == wanted[4]
    ]
    if len(found) != 1:
        return None
    p = found[0]
    return InsiAnswer(
        p.ins, Traits(p.birth_names, p.first_names, Sex(p.sex), p.birth_date, p.birth_place)
    )
