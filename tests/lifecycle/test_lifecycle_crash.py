"""Kill -9 during the daily jobs and during an export, then start again: nothing is lost and
nothing is done twice — one majority letter and one statement per patient, one trace each, one
finished export holding every document, traced once; ``carnet verify-log`` passes.

Slow (child processes, real fsyncs), run on the service's own defaults (SQLite, files).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from process_support import Service, finish, launch
from sqlalchemy import select

from carnet.audit.models import Trace
from carnet.context import RequestContext
from carnet.demo.personas import CLAIRE
from carnet.identity.ins import make_ins
from carnet.lifecycle.models import Export, YearlyStatement
from carnet.population.models import Patient
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import Runtime, build_runtime
from carnet.settings import Settings

pytestmark = pytest.mark.slow

MINORS = 150
DOCUMENTS = 1200


def _runtime(data_dir: Path) -> Runtime:
    return build_runtime(Settings(data_dir=data_dir))


def _kill_when(command: subprocess.Popen[str], folder: Path, count: int) -> bool:
    """SIGKILL once ``folder`` holds ``count`` files; whether it was killed before finishing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if command.poll() is not None:
            finish(command)
            return False
        if folder.is_dir() and sum(1 for _ in folder.glob("*.txt")) >= count:
            command.kill()
            command.communicate()
            return True
        time.sleep(0.005)
    command.kill()
    command.communicate()
    raise AssertionError("the job neither progressed nor finished")


def test_lc_7_lc_3_kill_9_during_the_jobs_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    today = date.today()
    day = date(today.year + 1, 2, 15)  # at least 46 days on: every minor is made before 18
    rows = ["ins,birth_names,first_names,sex,birth_date,birth_place"]
    for n in range(MINORS):
        born = day.replace(year=day.year - 18) - timedelta(days=n % 30)
        nir = f"2{born.year % 100:02d}{born.month:02d}75{n // 1000 % 1000:03d}{n % 1000:03d}"
        rows.append(f"{make_ins(nir)},DUBOIS,Léa,F,{born.isoformat()},75056")
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    finish(launch(data, "population", "import", str(feed), "--letters", str(tmp_path / "l.csv")))

    letters = data / "letters" / "activation" / day.isoformat()
    statements = data / "letters" / "statements" / str(day.year - 1)
    jobs = ("jobs", "run", "--today", day.isoformat())
    killed_in_majority = _kill_when(launch(data, *jobs), letters, MINORS // 3)
    killed_in_statements = _kill_when(launch(data, *jobs), statements, MINORS // 3)
    assert killed_in_majority or killed_in_statements, "each run finished before the kill"
    finish(launch(data, *jobs), timeout=300)
    finish(launch(data, *jobs), timeout=300)  # and again: nothing left to do
    finish(launch(data, "verify-log"))

    assert len(list(letters.glob("*.txt"))) == MINORS
    assert len(list(statements.glob("*.txt"))) == MINORS
    rt = _runtime(data)
    with rt.transaction() as session:
        people = list(session.scalars(select(Patient)))
        assert all(p.majority_at is not None for p in people)
        assert all(p.activation_code_hash is not None for p in people)
        issued = Counter(session.scalars(select(YearlyStatement.patient_id)))
        traces = Counter(
            (t.patient_id, t.action)
            for t in session.scalars(
                select(Trace).where(Trace.action.in_(["come_of_age", "yearly_statement"]))
            )
        )
    assert set(issued.values()) == {1}
    assert len(issued) == MINORS
    assert Counter(traces.values()) == Counter({1: 2 * MINORS})  # once each, no more
    for p in people:  # each letter carries the code that works: the last one issued
        assert (letters / f"{p.id}.txt").read_text().count("valable jusqu'au") == 1
    rt.uow.engine.dispose()


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo population, Claire with many documents."""
    data = tmp_path_factory.mktemp("export-template") / "data"
    finish(launch(data, "demo", "--patients", "0"), timeout=120)
    rt = _runtime(data)
    with rt.transaction() as session:
        claire = session.scalars(select(Patient).where(Patient.ins == CLAIRE.ins)).one()
    pro = RequestContext.for_pro("10000000001", "10", "SM26")
    for n in range(DOCUMENTS):  # incompressible: the zip grows as the documents go in
        content = b"%PDF-1.4\n" + os.urandom(40_000)
        upload_document(
            rt,
            pro,
            NewDocument("11488-4", f"Compte rendu {n}", "application/pdf", content),
            patient_id=claire.id,
        )
    rt.uow.engine.dispose()
    return data


def test_lc_6_kill_9_during_an_export_loses_nothing_and_repeats_nothing(
    crowded: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(crowded, data)
    token = finish(launch(data, "token", "patient", "--ins", CLAIRE.ins)).strip()
    with (tmp_path / "serve.log").open("wb") as log:
        service = Service(data, log, export_lease_seconds="2")
        try:
            service.start()
            with httpx.Client(
                base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http:
                me = http.get("/api/v1/me").json()["person_id"]
                url = f"/api/v1/patients/{me}/export"
                first = http.get(url)
                assert first.status_code == 202, first.text
                folder = data / "exports" / me
                deadline = time.monotonic() + 60
                while not any(p.stat().st_size > 5_000_000 for p in folder.glob("*.part")):
                    assert time.monotonic() < deadline, "the export never got going"
                    time.sleep(0.005)
            service.kill()  # mid-build: a partial file, a lease that will run out
            assert list(folder.glob("*.part"))
            service.start()
            with httpx.Client(
                base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as http:
                deadline = time.monotonic() + 120
                answer = http.get(url)
                while answer.status_code == 202:
                    assert time.monotonic() < deadline, answer.text
                    time.sleep(0.2)
                    answer = http.get(url)
                assert answer.status_code == 200, answer.text
                archive = zipfile.ZipFile(io.BytesIO(answer.content))
        finally:
            service.stop()
    documents = [n for n in archive.namelist() if n.startswith("documents/")]
    assert len(documents) >= DOCUMENTS
    assert len(set(documents)) == len(documents)
    manifest = json.loads(archive.read("manifest.json"))
    assert {f["path"] for f in manifest["files"]} >= set(documents)
    assert not list(folder.glob("*.part"))
    finish(launch(data, "verify-log"))
    rt = _runtime(data)
    with rt.transaction() as session:
        exports = list(session.scalars(select(Export)))
        actions = Counter(
            (t.action, json.loads(t.detail or "{}").get("downloaded", False))
            for t in session.scalars(
                select(Trace).where(
                    Trace.patient_id == me,
                    Trace.action.in_(["request_export", "export_record"]),
                    Trace.outcome == "allowed",
                )
            )
        )
    rt.uow.engine.dispose()
    assert [(e.state, e.attempts) for e in exports] == [("ready", 2)]  # built again, once
    assert actions[("request_export", False)] == 1
    assert actions[("export_record", False)] == 1  # finished once, traced once
    assert actions[("export_record", True)] == 1  # downloaded
