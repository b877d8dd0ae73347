"""The refusals of the messaging use cases: a code, French and English (``carnet.errors``).

The SMTP door answers each with its reply code; the JSON door with its HTTP status.
"""

from __future__ import annotations

from carnet.errors import Conflict, Forbidden, Invalid, NotFound
from carnet.messaging.rules import RecipientProblem, undeliverable_text


class Undeliverable(NotFound):
    """MSG-4: no mailbox to deliver to; the text is the one the sender's bounce carries."""

    code = "undeliverable"

    def __init__(self, problem: RecipientProblem, address: str) -> None:
        fr, en = undeliverable_text(problem, address)
        super().__init__(fr, en)
        self.problem = problem
        self.address = address


class SenderRefused(Forbidden):
    """MSG-2: the sender is not in the MSSanté trust space."""

    code = "sender_refused"


class MessageRefused(Invalid):
    """The message itself cannot be taken in (structure, size)."""

    code = "message_refused"


class WritingRefused(Forbidden):
    """MSG-2, MSG-3, MSG-9: the patient may not write there."""

    code = "writing_refused"


class TryAgain(Conflict):
    """Nothing was stored; the same message sent again will be."""

    code = "try_again"
