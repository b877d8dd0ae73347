"""LC-2: every change of a profile's state, through the one table (``population.rules``).

``move`` checks the change against ``TRANSITIONS`` (a refusal says where the profile stands),
stamps the row, traces the change on the patient's chain and tells him (an e-mail where an
address is known; the notification centre only while the space is open). Every use case that
changes a state — activation, closing, opposition (the patient's or the feed's), reopening,
majority — calls it in its own transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.rules import Why
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.notify.rules import Kind
from carnet.notify.service import enqueue
from carnet.population.models import Patient
from carnet.population.rules import Change, ProfileState, check_transition

#: The trace each change leaves (TR-1: the patient reads it in his history once reopened).
ACTIONS: dict[Change, Action] = {
    Change.ACTIVATE: Action.ACTIVATE_PROFILE,
    Change.CLOSE: Action.CLOSE_PROFILE,
    Change.OPPOSE: Action.OPPOSE_PROFILE,
    Change.WITHDRAW_OPPOSITION: Action.WITHDRAW_OPPOSITION,
    Change.REOPEN: Action.REOPEN_PROFILE,
    Change.COME_OF_AGE: Action.COME_OF_AGE,
}


def move(
    session: Session,
    ctx: RequestContext,
    patient: Patient,
    change: Change,
    *,
    why: Why,
    on_behalf_of: str | None = None,
    detail: dict[str, object] | None = None,
) -> ProfileState:
    """Apply ``change`` to the patient's row (``Conflict`` if the table has no such edge from
    where he stands); traced and notified in the caller's transaction."""
    current = ProfileState(patient.state)
    target = check_transition(current, change)
    now = clock.now()
    patient.state, patient.updated_at = target.value, now
    if target is ProfileState.ACTIVATED:
        patient.activated_at = now
    elif target is ProfileState.CLOSED:
        patient.closed_at = now
    elif target is ProfileState.OPPOSED:
        patient.opposed_at = now
    if target is not ProfileState.OPPOSED:
        patient.opposed_by = None
    trail.record(
        session,
        ctx,
        ACTIONS[change],
        patient_id=patient.id,
        on_behalf_of=on_behalf_of,
        why=why.value,
        detail={"from": current.value, "to": target.value, **(detail or {})},
    )
    centre = "1" if target is ProfileState.ACTIVATED else "0"  # the centre is the open space's
    enqueue(session, patient.id, Kind.PROFILE_CHANGED, {"change": change.value, "centre": centre})
    return target
