"""Issue 16: with an OpenID issuer, tokens meant for another service (another audience) are
refused on every door over HTTP — before a body is read — while Carnet's own pass. (That
Carnet refuses to start with an issuer and no audience: ``test_verify.py``
``test_oidc_issuer_without_audience_refuses_to_start`` and ``tests/cli/test_cli.py``.)"""

from __future__ import annotations

from factories import add_patient
from live_api import Api, LiveApp

from carnet.auth.verify import TokenVerifier

from .issuer import LocalIssuer, psc_payload


def test_issue16_tokens_for_another_audience_are_refused_on_the_doors(
    api: Api, live_app: LiveApp, verifier: TokenVerifier, issuer: LocalIssuer
) -> None:
    live_app.app.state.verifier = verifier
    patient = add_patient(api.rt)
    ours = {"Authorization": f"Bearer {issuer.sign(psc_payload(issuer.issuer))}"}
    for audience in ("another-service", ["account"]):
        token = issuer.sign(psc_payload(issuer.issuer, aud=audience))
        theirs = {"Authorization": f"Bearer {token}"}
        search = api.client.get(
            "/fhir/DocumentReference",
            params={"patient": patient.id, "status": "current"},
            headers=theirs,
        )
        assert search.status_code == 401, search.text
        assert search.json()["issue"][0]["details"]["coding"][0]["code"] == "token_audience_refused"
        posted = api.client.post(
            f"/api/v1/pro/patients/{patient.id}/documents",
            json={"title": "x"},
            headers=theirs,
        )
        assert api.refusal(posted, 401)["error"] == "token_audience_refused"
    accepted = api.client.get(
        "/fhir/DocumentReference",
        params={"patient": patient.id, "status": "current"},
        headers=ours,
    )
    assert accepted.status_code != 401, accepted.text
