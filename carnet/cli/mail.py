"""``carnet mail queue``: what waits for the relay and why, or what was given up."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from carnet.relay.queue import QueuedMail


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} j {seconds % 86400 // 3600} h"


def print_queue(
    rows: Sequence[QueuedMail], *, failed: bool, now: datetime, echo: Callable[[str], None]
) -> None:
    """One line per e-mail: queue, kind, id, the recipient's domain (never the address),
    attempts, age, next attempt (or ``-``), and the last reply or error."""
    if failed:
        echo(f"{len(rows)} envoi(s) abandonné(s) / given up")
    else:
        echo(f"{len(rows)} envoi(s) en attente / waiting")
    if not rows:
        return
    echo(
        "file/queue    genre/kind                    id                                "
        "domaine/domain             essais  âge     prochain/next  raison/reason"
    )
    for row in rows:
        upcoming = "-"
        if row.next_attempt_at is not None:
            upcoming = "dû/due" if row.next_attempt_at <= now else _age(row.next_attempt_at - now)
        echo(
            f"{row.queue:<13} {row.kind:<29} {row.id:<33} {row.rcpt_domain[:26]:<26} "
            f"{row.attempts:>6}  {_age(now - row.created_at):<7} {upcoming:<14} "
            f"{row.last_error or '-'}"
        )
