"""The measures page (PRF-1) beside the JSON API's same data: time to first byte.

A patient with ten years of weekly measures — weight, blood pressure, heart rate, glycaemia,
about 520 points each, and one height (so BMI is computed at every weight) — among other
patients' measures. The same server (the real app on a real socket, uvicorn in a thread) answers
``GET /espace/<id>/profil/mesures`` with a web session cookie and
``GET /api/v1/patients/<id>/profile/measures`` with a bearer token; median time to first byte
over alternating requests. Both go through the same ``profile.service.measures`` (one traced
read of the section); the page adds its session, the space switcher, the HTML, the last values
and the charts' data.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import (
    Result,
    connect_raw,
    database_file,
    finish,
    median,
    options,
    patient_headers,
    print_header,
    print_profile,
    runtime_in,
    serving,
    sql_datetime,
    temporary_folder,
)
from listing import PATIENT_INS_INSERT, PATIENT_INSERT, ins_row, patient_rows
from pages import alternate_first_bytes, app_in, first_byte

from carnet.ids import new_id

WEEKS = 520  # ten years of weekly measures
OTHER_PATIENTS_FULL = 2_000
OTHER_PATIENTS_QUICK = 100
REQUESTS_FULL = 40
REQUESTS_QUICK = 8
WARM_UP = 2
TARGET = 1.5  # the page's time to first byte ≤ 1.5 × the API's
MEASURE_INSERT = (
    "INSERT INTO profile_measures (patient_id, id, code, value, value2, unit, measured_at, "
    "author_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def measure_rows(patient_id: str, now: datetime) -> list[tuple[object, ...]]:
    """Ten years of weekly weight, blood pressure, heart rate and glycaemia, and one height."""
    stamp = sql_datetime(now)
    rows: list[tuple[object, ...]] = [
        (
            patient_id,
            new_id(),
            "8302-2",
            172.0,
            None,
            "cm",
            sql_datetime(now - timedelta(weeks=WEEKS + 1)),
            patient_id,
            stamp,
        )
    ]
    for week in range(WEEKS):
        at = sql_datetime(now - timedelta(weeks=WEEKS - week, hours=-7))
        wave = (week % 52) / 52
        rows += [
            (
                patient_id,
                new_id(),
                "29463-7",
                round(78 + 3 * wave - week / 200, 1),
                None,
                "kg",
                at,
                patient_id,
                stamp,
            ),
            (
                patient_id,
                new_id(),
                "85354-9",
                120 + week % 15,
                75 + week % 9,
                "mm[Hg]",
                at,
                patient_id,
                stamp,
            ),
            (patient_id, new_id(), "8867-4", 60 + week % 20, None, "/min", at, patient_id, stamp),
            (
                patient_id,
                new_id(),
                "2339-0",
                round(0.85 + (week % 30) / 100, 2),
                None,
                "g/L",
                at,
                patient_id,
                stamp,
            ),
        ]
    return rows


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    others = OTHER_PATIENTS_QUICK if args.quick else OTHER_PATIENTS_FULL
    requests = REQUESTS_QUICK if args.quick else REQUESTS_FULL
    with temporary_folder(args.dir) as folder:
        rt = runtime_in(folder)
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        pairs = list(patient_rows(others + 1, first_serial=0))
        patient_id, patient_row = pairs[0]
        ins = str(patient_row[1])
        began = time.perf_counter()
        connection = connect_raw(database_file(folder))
        connection.execute("BEGIN")
        connection.executemany(PATIENT_INSERT, [row for _, row in pairs])
        connection.executemany(PATIENT_INS_INSERT, [ins_row(row) for _, row in pairs])
        # Other patients' measures interleave with the measured one's in the table.
        for pid, _ in pairs[1:]:
            connection.executemany(MEASURE_INSERT, measure_rows(pid, now)[: 4 * 52])
        rows = measure_rows(patient_id, now)
        connection.executemany(MEASURE_INSERT, rows)
        connection.execute("COMMIT")
        connection.close()
        filled = time.perf_counter() - began
        page_headers, api_headers = patient_headers(rt, ins)
        rt.uow.engine.dispose()
        with serving(app_in(folder)) as url:
            page_url = f"{url}/espace/{patient_id}/profil/mesures"
            api_url = f"{url}/api/v1/patients/{patient_id}/profile/measures"
            print_header(
                "Profile pages: the measures page vs the JSON API's measures, time to first byte",
                [
                    ("measured patient", f"{len(rows):,} measures ({WEEKS} weeks × 4, one height)"),
                    (
                        "other patients",
                        f"{others:,} with a year of measures ({filled:.1f} s to fill)",
                    ),
                    ("requests", f"{requests} each side, alternating, over one keep-alive client"),
                ],
            )
            with httpx.Client(timeout=60) as client:
                page_s, api_s = alternate_first_bytes(
                    client, (page_url, page_headers), (api_url, api_headers), requests, WARM_UP
                )
                page_size = len(client.get(page_url, headers=page_headers).content)
                api_size = len(client.get(api_url, headers=api_headers).content)
                print(f"  page: {page_size:,} bytes of HTML; API: {api_size:,} bytes of JSON")
                if args.profile:
                    print_profile(
                        lambda: [first_byte(client, page_url, page_headers) for _ in range(10)],
                        "10 page requests (client side; the server runs in a thread)",
                    )
    page_median, api_median = median(page_s), median(api_s)
    ratio = page_median / api_median
    results = [
        Result(
            "measures page, 10 years × 4 (TTFB median)",
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
