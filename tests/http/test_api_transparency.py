"""TR-3 over HTTP: signed heads, the log's key, consistency and inclusion proofs that anyone
checks with nothing but the key; a trace's proof only for who may read that history, a refusal
answering like an absent trace."""

from __future__ import annotations

import base64
import hashlib

from factories import add_patient, add_pro, pro_ctx, upload
from live_api import Api
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.audit.proofs import check_consistency, check_inclusion
from carnet.ids import new_id
from carnet.transparency import service

V1 = "/api/v1"


def _key(api: Api) -> bytes:
    response = api.client.get(f"{V1}/transparency/key")
    assert response.status_code == 200, response.text
    body = response.json()
    public = base64.b64decode(body["public_key"])
    assert body["algorithm"] == "Ed25519"
    assert base64.b64decode(body["key_id"]) == hashlib.sha256(public).digest()
    return public


def test_tr_3_api_no_head_before_the_log_signs_one(api: Api) -> None:
    body = api.refusal(api.client.get(f"{V1}/transparency/head"), 404)
    assert body["error"] == "no_tree_head"
    assert api.refusal(api.client.get(f"{V1}/transparency/key"), 404)["error"] == "no_tree_head"


def test_tr_3_api_heads_and_consistency_check_with_the_key_alone(api: Api) -> None:
    pro, patient = add_pro(api.rt), add_patient(api.rt)
    upload(api.rt, pro_ctx(pro), patient)
    first = service.advance(api.rt)
    for _ in range(4):
        upload(api.rt, pro_ctx(pro), patient)
    second = service.advance(api.rt)
    assert first is not None
    assert second is not None
    public = _key(api)
    head = api.client.get(f"{V1}/transparency/head").json()
    assert head == second.to_json()
    response = api.client.get(
        f"{V1}/transparency/consistency",
        params={"first": first.tree_size, "second": second.tree_size},
    )
    assert response.status_code == 200, response.text
    assert check_consistency(response.json(), public) == []
    forged = response.json()
    forged["first_head"]["root_hash"] = forged["second_head"]["root_hash"]
    assert "first head: bad signature" in check_consistency(forged, public)
    too_far = api.client.get(
        f"{V1}/transparency/consistency", params={"first": 1, "second": second.tree_size + 1}
    )
    assert api.refusal(too_far, 422)["error"] == "bad_tree_sizes"


def test_tr_3_api_patient_gets_the_proof_of_a_history_line(api: Api) -> None:
    pro, patient = add_pro(api.rt), add_patient(api.rt)
    upload(api.rt, pro_ctx(pro), patient)
    with api.rt.transaction() as session:
        trace_id = session.scalars(select(Trace.id).where(Trace.patient_id == patient.id)).one()
    url = f"{V1}/patients/{patient.id}/history/{trace_id}/proof"
    pending = api.client.get(url, headers=api.as_patient(patient))
    assert api.refusal(pending, 404)["error"] == "proof_pending"
    service.advance(api.rt)
    response = api.client.get(url, headers=api.as_patient(patient))
    assert response.status_code == 200, response.text
    proof = response.json()
    assert proof["trace_id"] == trace_id
    assert check_inclusion(proof, _key(api)) == []
    proof["trace"]["canonical"] = proof["trace"]["canonical"].replace("allowed", "denied")
    assert "the trace's content does not give its hash" in check_inclusion(proof, _key(api))


def test_tr_3_api_proof_refused_like_a_missing_trace(api: Api) -> None:
    pro, patient, other = add_pro(api.rt), add_patient(api.rt), add_patient(api.rt)
    upload(api.rt, pro_ctx(pro), patient)
    service.advance(api.rt)
    with api.rt.transaction() as session:
        trace_id = session.scalars(select(Trace.id).where(Trace.patient_id == patient.id)).one()
    url = f"{V1}/patients/{patient.id}/history/{trace_id}/proof"
    missing = f"{V1}/patients/{patient.id}/history/{new_id()}/proof"
    for headers in (api.as_pro(pro), api.as_patient(other)):
        refused = api.client.get(url, headers=headers)
        absent = api.client.get(missing, headers=headers)
        assert (refused.status_code, refused.json()) == (404, api.refusal(absent, 404))
    with api.rt.transaction() as session:
        denied = session.scalars(
            select(Trace).where(
                Trace.patient_id == patient.id,
                Trace.action == "read_history",
                Trace.outcome == "denied",
            )
        ).all()
    assert len(denied) >= 2
