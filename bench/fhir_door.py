"""The FHIR door's cost (issue 4): ITI-67 searches and ITI-65 publications beside the JSON API's
same calls, over real HTTP to one server, run side by side.

Both doors reach the same use cases; what differs is the door: parsing the Bundle with the R4B
models, building DocumentReferences as plain dicts. Target: FHIR at most 1.5 x the JSON time.
"""

from __future__ import annotations

import base64
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import date

import httpx
import uvicorn
from _common import Result, finish, median, options, print_header, runtime_in, temporary_folder

from carnet import clock
from carnet.auth.instance import issue_pro_token, load_or_create_instance_key
from carnet.auth.verify import TokenVerifier
from carnet.context import AuthLevel
from carnet.demo.load import pdf
from carnet.http.app import create_app
from carnet.identity.ins import make_ins
from carnet.identity.models import Pro
from carnet.ids import new_id
from carnet.population.models import Patient

TARGET = 1.5
RPPS = "10000000601"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _timed(call: Callable[[], httpx.Response], expected: int) -> float:
    start = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - start
    if answer.status_code != expected:
        raise SystemExit(f"unexpected {answer.status_code}: {answer.text[:300]}")
    return elapsed


def main() -> int:
    args = options(__doc__ or "")
    documents, rounds = (20, 15) if args.quick else (50, 60)
    with temporary_folder(args.dir) as folder:
        rt = runtime_in(folder)
        now = clock.now()
        ins = make_ins("2850475056999")
        patient = Patient(
            id=new_id(),
            ins=ins,
            ins_status="VALI",
            birth_names="BENCH",
            first_names="Ana",
            used_name=None,
            sex="F",
            birth_date=date(1985, 4, 1),
            birth_place="75056",
            email=None,
            phone=None,
            state="activated",
            password_hash=None,
            created_at=now,
            updated_at=now,
            activated_at=now,
            closed_at=None,
            opposed_at=None,
        )
        with rt.transaction() as session:
            session.add(patient)
            session.add(
                Pro(
                    rpps=RPPS,
                    last_name="Bench",
                    first_name="Dr",
                    civility="Dr",
                    profession="10",
                    specialty="SM26",
                    samu_regulator=False,
                    updated_at=now,
                )
            )
        key = load_or_create_instance_key(folder / "keys" / "instance.jwk")
        app = create_app(rt, TokenVerifier(key))
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        token = issue_pro_token(
            key, rpps=RPPS, profession="10", specialty="SM26", level=AuthLevel.CPS, ttl_seconds=3600
        )
        headers = {"Authorization": f"Bearer {token}"}
        content = pdf("x" * 8000)
        data = base64.b64encode(content).decode()
        counter = iter(range(10**9))

        def json_publish() -> httpx.Response:
            body = {
                "type_code": "11488-4",
                "title": "Bench",
                "mime_type": "application/pdf",
                "content_base64": data,
                "unique_id": f"json-{next(counter)}",
            }
            return client.post(
                f"/api/v1/pro/patients/{patient.id}/documents", json=body, headers=headers
            )

        def fhir_publish() -> httpx.Response:
            uid = f"fhir-{next(counter)}"
            bundle = {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:set",
                        "resource": {
                            "resourceType": "List",
                            "status": "current",
                            "mode": "working",
                        },
                        "request": {"method": "POST", "url": "List"},
                    },
                    {
                        "fullUrl": f"urn:uuid:{uid}",
                        "resource": {
                            "resourceType": "DocumentReference",
                            "status": "current",
                            "masterIdentifier": {"value": uid},
                            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                            "subject": {"reference": f"Patient/{patient.id}"},
                            "description": "Bench",
                            "content": [
                                {
                                    "attachment": {
                                        "contentType": "application/pdf",
                                        "url": f"urn:uuid:{uid}-b",
                                    }
                                }
                            ],
                        },
                        "request": {"method": "POST", "url": "DocumentReference"},
                    },
                    {
                        "fullUrl": f"urn:uuid:{uid}-b",
                        "resource": {
                            "resourceType": "Binary",
                            "contentType": "application/pdf",
                            "data": data,
                        },
                        "request": {"method": "POST", "url": "Binary"},
                    },
                ],
            }
            return client.post("/fhir", json=bundle, headers=headers)

        def json_search() -> httpx.Response:
            return client.get(f"/api/v1/pro/patients/{patient.id}/documents", headers=headers)

        def fhir_search() -> httpx.Response:
            return client.get(
                "/fhir/DocumentReference",
                headers=headers,
                params={"patient": patient.id, "status": "current", "_count": "500"},
            )

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(documents // 2):
                _timed(json_publish, 201)
                _timed(fhir_publish, 200)
            print_header(
                "FHIR door vs JSON API (same server, same use cases)",
                [("documents listed per search", documents), ("rounds", rounds)],
            )
            timings: dict[str, list[float]] = {k: [] for k in ("jp", "fp", "js", "fs")}
            for _ in range(rounds):
                timings["jp"].append(_timed(json_publish, 201))
                timings["fp"].append(_timed(fhir_publish, 200))
                timings["js"].append(_timed(json_search, 200))
                timings["fs"].append(_timed(fhir_search, 200))
        server.should_exit = True
        thread.join(5)
    results = []
    for what, ours, base in (
        ("ITI-65 publish (1 document)", "fp", "jp"),
        ("ITI-67 search", "fs", "js"),
    ):
        ratio = median(timings[ours]) / median(timings[base])
        results.append(
            Result(
                what,
                f"{1 / median(timings[ours]):.0f}/s",
                f"{1 / median(timings[base]):.0f}/s",
                f"{ratio:.2f}x time",
                f"<= {TARGET}x",
                ratio <= TARGET,
            )
        )
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
