"""Pages (DOC-*, TR-1): the patient's documents page beside the JSON API's listing of the same.

A patient with 500 documents among many others; the same server (the real app on a real socket,
uvicorn in a thread) answers both: ``GET /espace/<id>/documents`` with a web session cookie, and
``GET /api/v1/patients/<id>/documents`` with a bearer token. Time to first byte of each, median
over alternating requests; the page may take at most 1.5 × the API's time (issue 15). Both go
through the same ``records.list_documents``; the page adds its session, the space switcher, the
authors' names and the HTML of its first 50 documents (a page of the list, as on a phone).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from _common import (
    Result,
    finish,
    median,
    options,
    patient_headers,
    print_header,
    print_profile,
    runtime_in,
    serving,
    settings_in,
    temporary_folder,
)
from listing import PATIENT_INS_INSERT, PATIENT_INSERT, ins_row, patient_rows, populate

from carnet.http.app import create_app
from carnet.runtime import build_runtime

if TYPE_CHECKING:
    from starlette.types import ASGIApp

DOCUMENTS_FULL = 200_000
DOCUMENTS_QUICK = 10_000
REQUESTS_FULL = 40
REQUESTS_QUICK = 8
WARM_UP = 2
TARGET = 1.5  # the page's time to first byte ≤ 1.5 × the API's (issue 15)


def first_byte(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    began = time.perf_counter()
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, response.status_code
        chunks = response.iter_raw()
        next(chunks)
        took = time.perf_counter() - began
        for _ in chunks:
            pass
    return took


def alternate_first_bytes(
    client: httpx.Client,
    page: tuple[str, dict[str, str]],
    api: tuple[str, dict[str, str]],
    requests: int,
    warm_up: int,
) -> tuple[list[float], list[float]]:
    """Times to first byte of a page and of the API answer it is compared with, taken in turns
    over one keep-alive client so that both sides meet the same moments of the machine."""
    for _ in range(warm_up):
        first_byte(client, *page)
        first_byte(client, *api)
    page_s: list[float] = []
    api_s: list[float] = []
    for _ in range(requests):
        page_s.append(first_byte(client, *page))
        api_s.append(first_byte(client, *api))
    return page_s, api_s


def app_in(folder: Path) -> ASGIApp:
    """The app on the instance in ``folder``, demo log-in on (the bench's session cookie)."""
    rt = build_runtime(settings_in(folder).model_copy(update={"demo": True}), migrate=False)
    return create_app(rt)


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    total = DOCUMENTS_QUICK if args.quick else DOCUMENTS_FULL
    requests = REQUESTS_QUICK if args.quick else REQUESTS_FULL
    with temporary_folder(args.dir) as folder:
        rt = runtime_in(folder)
        patient_id, patient_row = next(patient_rows(1, first_serial=0))
        ins = str(patient_row[1])
        with rt.transaction() as session:
            session.connection().exec_driver_sql(PATIENT_INSERT, patient_row)
            session.connection().exec_driver_sql(PATIENT_INS_INSERT, ins_row(patient_row))
        began = time.perf_counter()
        patients = populate(folder / "carnet.db", patient_id, total)
        filled = time.perf_counter() - began
        page_headers, api_headers = patient_headers(rt, ins)
        rt.uow.engine.dispose()
        with serving(app_in(folder)) as url:
            page_url = f"{url}/espace/{patient_id}/documents"
            api_url = f"{url}/api/v1/patients/{patient_id}/documents"
            print_header(
                "Pages: the documents page vs the JSON API's listing, time to first byte",
                [
                    ("documents", f"{total:,} over {patients:,} patients ({filled:.1f} s to fill)"),
                    ("measured patient", "500 documents"),
                    ("requests", f"{requests} each side, alternating, over one keep-alive client"),
                ],
            )
            with httpx.Client(timeout=60) as client:
                page_s, api_s = alternate_first_bytes(
                    client, (page_url, page_headers), (api_url, api_headers), requests, WARM_UP
                )
                size = len(client.get(page_url, headers=page_headers).content)
                print(f"  page: {size:,} bytes of HTML")
                if args.profile:
                    print_profile(
                        lambda: [first_byte(client, page_url, page_headers) for _ in range(10)],
                        "10 page requests (client side; the server runs in a thread)",
                    )
    page_median, api_median = median(page_s), median(api_s)
    ratio = page_median / api_median
    results = [
        Result(
            "documents page, 500 docs (TTFB median)",
            f"{page_median * 1e3:.1f} ms",
            f"{api_median * 1e3:.1f} ms (JSON API)",
            f"{ratio:.2f}x",
            f"<= {TARGET}x time",
            ratio <= TARGET,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
