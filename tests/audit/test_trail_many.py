"""TR-1, TR-3: ``record_many`` appends like ``record``, one chain link after another, for a batch
of acts on several patients (the messages of one SMTP batch)."""

from __future__ import annotations

from factories import add_patient, add_pro, pro_ctx
from sqlalchemy import select

from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.audit.verify import verify_log
from carnet.context import RequestContext
from carnet.runtime import Runtime


def test_tr_3_record_many_continues_each_chain(rt: Runtime) -> None:
    first, second, pro = add_patient(rt), add_patient(rt), add_pro(rt)
    ctx = pro_ctx(pro)
    with rt.transaction() as session:
        trail.record(session, ctx, Action.RECEIVE_MESSAGE, patient_id=first.id, target="m0")
    entries = [
        trail.Entry(ctx, Action.RECEIVE_MESSAGE, first.id, target="m1", detail={"fin": False}),
        trail.Entry(ctx, Action.RECEIVE_MESSAGE, second.id, target="m2"),
        trail.Entry(ctx, Action.RECEIVE_MESSAGE, first.id, target="m3"),
        trail.Entry(RequestContext.operator(), Action.IMPORT_DIRECTORY, None),
    ]
    with rt.transaction() as session:
        ids = trail.record_many(session, entries)
    with rt.transaction() as session:
        written = {t.id: t for t in session.scalars(select(Trace).where(Trace.id.in_(ids)))}
        assert [(written[i].patient_id == first.id, written[i].seq) for i in ids[:3]] == [
            (True, 2),
            (False, 1),
            (True, 3),
        ]
        assert verify_log(session).breach is None
        chain = list(
            session.scalars(select(Trace).where(Trace.patient_id == first.id).order_by(Trace.seq))
        )
    assert [t.target for t in chain] == ["m0", "m1", "m3"]
    assert chain[2].prev_hash == chain[1].hash
