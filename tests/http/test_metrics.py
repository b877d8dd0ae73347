"""``/metrics`` over real HTTP: Prometheus text, requests by route template and status, what waits
for the relay, and no personal data (issue: mail that leaves Carnet, observable)."""

from __future__ import annotations

from typing import Any

from factories import add_patient, add_pro, pro_ctx, upload
from live_api import Api
from support import metric_samples

from carnet.db.fair import FairSlots
from carnet.http.metrics import database_turns
from carnet.metrics import Labels, Metrics

V1 = "/api/v1"


def test_metrics_http_requests_by_route_template_and_status(api: Api) -> None:
    patient = add_patient(api.rt, email="claire@example.org")
    mine = api.as_patient(patient)
    assert api.client.get(f"{V1}/patients/{patient.id}/documents", headers=mine).status_code == 200
    assert api.client.get(f"{V1}/patients/{patient.id}/documents").status_code == 401
    assert api.client.get(f"/nulle-part/{patient.ins}").status_code == 404
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = metric_samples(response.text)
    route = 'route="/api/v1/patients/{patient_id}/documents"'
    assert samples[f'carnet_http_requests_total{{method="GET",{route},status="200"}}'] == 1
    assert samples[f'carnet_http_requests_total{{method="GET",{route},status="401"}}'] == 1
    assert samples['carnet_http_requests_total{method="GET",route="unmatched",status="404"}'] == 1
    assert patient.id not in response.text
    assert patient.ins not in response.text
    assert "claire" not in response.text
    again = metric_samples(api.client.get("/metrics").text)
    assert again['carnet_http_requests_total{method="GET",route="/metrics",status="200"}'] == 1


def test_metrics_mail_counters_and_what_waits_for_the_relay(api: Api) -> None:
    upload(api.rt, pro_ctx(add_pro(api.rt)), add_patient(api.rt))
    api.rt.metrics.count("carnet_smtp_refused_total", stage="rcpt", reason="closed")
    text = api.client.get("/metrics").text
    samples = metric_samples(text)
    assert samples['carnet_mail_waiting{queue="notification"}'] == 1
    assert samples['carnet_mail_waiting{queue="outgoing"}'] == 0
    assert samples['carnet_smtp_refused_total{reason="closed",stage="rcpt"}'] == 1
    assert samples["carnet_smtp_messages_accepted_total"] == 0
    for name in ("queued", "deferred", "failed", "sent"):
        assert f"# TYPE carnet_mail_{name}_total counter" in text


def test_metrics_the_database_turns_of_this_process(api: Api) -> None:
    """Issue 18/19: the operator sees the fair queue's limits (none when this runtime has no
    queue: the tests' PostgreSQL runtime)."""
    samples = metric_samples(api.client.get("/metrics").text)
    slots = api.rt.uow.slots
    assert samples.get('carnet_db_transactions{of="limit"}') == (slots.slots if slots else None)
    assert samples.get('carnet_db_waiting{of="limit"}') == (slots.max_waiting if slots else None)


def _by_name(gauges: list[tuple[str, str, dict[Labels, float]]]) -> dict[str, Any]:
    return {name: samples for name, _, samples in gauges}


def test_metrics_database_turns_now_and_limits() -> None:
    slots = FairSlots(3, max_waiting=7)
    assert slots.acquire(timeout=1)
    assert _by_name(database_turns(slots)) == {
        "carnet_db_transactions": {(("of", "now"),): 1.0, (("of", "limit"),): 3.0},
        "carnet_db_waiting": {(("of", "now"),): 0.0, (("of", "limit"),): 7.0},
    }
    assert _by_name(database_turns(FairSlots(2)))["carnet_db_waiting"] == {(("of", "now"),): 0.0}
    assert database_turns(None) == []


def test_metrics_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.count("carnet_smtp_refused_total", stage='a"b\\c\nd', reason="x")
    assert 'stage="a\\"b\\\\c\\nd"' in metrics.render()
