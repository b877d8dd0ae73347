"""What waits in Carnet's outgoing queues, and what was given up, as ``carnet mail queue`` shows it.

Two queues feed the relay: the patients' mail (``messaging.delivery``: replies, messages to
pharmacies, read receipts) and the notification e-mails (``notify.service``). Each lists its rows
in this one shape; no address is shown, only the recipient's domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QueuedMail:
    queue: str
    kind: str
    id: str
    rcpt_domain: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
