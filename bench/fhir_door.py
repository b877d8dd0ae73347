"""The FHIR door's cost (issue 4): ITI-67 searches and ITI-65 publications beside the JSON API's
same calls, over real HTTP to one server, run side by side.

Both doors reach the same use cases; what differs is the door: parsing the Bundle with the R4B
models, building DocumentReferences as plain dicts. Target: FHIR at most 1.5 x the JSON time.

The search is also set beside the floor of what it reads: the patient's current documents by a
bare indexed select on the same database (``sqlite3``, or psycopg on the PostgreSQL server that
``--database URL`` names, issue 18, where the instance gets a fresh database). No target yet:
the line says what the whole request (HTTP, token, decision, trace and its commit, FHIR JSON)
costs over the rows it returns.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from _common import (
    Result,
    a_pro,
    activated_patient,
    alternate,
    connect_pg,
    connect_raw,
    database_file,
    database_label,
    database_on,
    finish,
    median,
    options,
    print_header,
    runtime_in,
    serving,
    temporary_folder,
)

from carnet.auth.instance import issue_pro_token, load_or_create_instance_key
from carnet.auth.verify import TokenVerifier
from carnet.context import AuthLevel
from carnet.demo.load import pdf
from carnet.http.app import create_app
from carnet.identity.ins import make_ins

TARGET = 1.5
RPPS = "10000000601"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
#: What the FHIR search (``status=current``) reads, and nothing else.
BARE_SEARCH = "SELECT * FROM documents WHERE patient_id = ? AND status = 'current'"


def checked(call: Callable[[], httpx.Response], expected: int) -> Callable[[], None]:
    """``call``, stopping the bench at the first unexpected answer (a timing of an error would
    mean nothing)."""

    def run() -> None:
        answer = call()
        if answer.status_code != expected:
            raise SystemExit(f"unexpected {answer.status_code}: {answer.text[:300]}")

    return run


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    documents, rounds = (20, 15) if args.quick else (50, 60)
    listed = documents + 2 * rounds  # by the time the search meets the bare select
    with (
        temporary_folder(args.dir) as folder,
        database_on(args.database, args.citus_workers) as url,
    ):
        rt = runtime_in(folder, database_url=url)
        patient = activated_patient(
            make_ins("2850475056999"),
            email=None,
            birth_names="BENCH",
            first_names="Ana",
            birth_date=date(1985, 4, 1),
        )
        with rt.transaction() as session:
            session.add(patient)
            session.add(a_pro(RPPS))
        key = load_or_create_instance_key(folder / "keys" / "instance.jwk")
        raw: Any = (
            connect_raw(database_file(folder)) if url is None else connect_pg(url, autocommit=True)
        )
        query = BARE_SEARCH if url is None else BARE_SEARCH.replace("?", "%s")
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

        def bare_search() -> None:
            if len(raw.execute(query, (patient.id,)).fetchall()) != listed:
                raise SystemExit("the bare select does not return every document")

        with (
            serving(create_app(rt, TokenVerifier(key))) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):
            for _ in range(documents // 2):
                checked(json_publish, 201)()
                checked(fhir_publish, 200)()
            print_header(
                "FHIR door vs JSON API (same server, same use cases) and vs a bare select",
                [
                    ("documents listed per search", f"{documents}, {listed} at the end"),
                    ("rounds", rounds),
                    ("database", database_label(url)),
                ],
            )
            sides = {
                "jp": checked(json_publish, 201),
                "fp": checked(fhir_publish, 200),
                "js": checked(json_search, 200),
                "fs": checked(fhir_search, 200),
            }
            taken = alternate(list(sides.values()), rounds, rounds=rounds, warm_up=0)
            timings = dict(zip(sides, taken, strict=True))
            # Afterwards: the publications above would change what it returns.
            search, bare = alternate([sides["fs"], bare_search], rounds, rounds=rounds, warm_up=3)
        raw.close()
        rt.uow.engine.dispose()
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
    ratio = median(search) / median(bare)
    results.append(
        Result(
            f"ITI-67 search ({listed} docs) vs bare select",
            f"{median(search) * 1e3:.2f} ms",
            f"{median(bare) * 1e3:.2f} ms",
            f"{ratio:.1f}x time",
            "none yet",
            None,
        )
    )
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
