"""Issue 16 on the JSON door: the history read by cursor (``before=``, the previous page's
``next_before``). Each read of the history is itself traced, newest first, so ``page=2`` after
``page=1`` shows a line twice; by cursor, the pages are the history as it was."""

from __future__ import annotations

from datetime import timedelta

from factories import add_patient, add_pro, pro_ctx
from live_api import Api

from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.clock import FixedClock

V1 = "/api/v1"


def test_tr_1_history_pages_by_cursor_without_repeats(api: Api, fixed_clock: FixedClock) -> None:
    patient, pro = add_patient(api.rt), add_pro(api.rt)
    with api.rt.transaction() as session:
        for _ in range(130):
            fixed_clock.advance(timedelta(seconds=1))
            trail.record(session, pro_ctx(pro), Action.FIND_PATIENT, patient_id=patient.id)
    url, mine = f"{V1}/patients/{patient.id}/history", api.as_patient(patient)
    first = api.client.get(url, headers=mine).json()
    assert len(first["entries"]) == 100
    assert first["next_before"] is not None
    second = api.client.get(url, params={"before": first["next_before"]}, headers=mine).json()
    assert len(second["entries"]) == 30
    assert second["next_before"] is None
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert len(set(ids)) == 130
    assert all(e["action"] == "find_patient" for e in second["entries"])
    api.refusal(api.client.get(url, params={"before": 0}, headers=mine), 422)
