"""The operator's commands about the profile's life (INTERFACES.md): ``carnet population
reissue-code``, ``requests``, ``reopen``; ``carnet jobs run --today``; ``carnet
verify-certificate`` — run as an operator would, on a data folder."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from carnet import clock
from carnet.cli.main import app
from carnet.context import RequestContext
from carnet.identity.ins import make_ins
from carnet.lifecycle import requests, service
from carnet.lifecycle.activation import activate_profile
from carnet.population.models import Patient
from carnet.runtime import build_runtime
from carnet.settings import Settings

runner = CliRunner()
ADULT = make_ins("2850475056012")
BORN = date(1985, 4, 12)


def _run(data: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    return result.output


def _code(output: str) -> str:
    return output.split("activation code: ", 1)[1].split(" ", 1)[0]


def test_lc_4_lc_5_lc_6_the_operator_s_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "ins,birth_names,first_names,sex,birth_date,birth_place,email\n"
        f"{ADULT},MARTIN,Claire,F,{BORN.isoformat()},75056,\n",
        encoding="utf-8",
    )
    _run(data, "population", "import", str(feed))
    assert "Aucune demande" in _run(data, "population", "requests")
    rt = build_runtime(Settings(data_dir=data))
    requests.request_code(rt, ADULT, BORN)  # from the log-in page
    listed = _run(data, "population", "requests")
    assert "activation_code" in listed
    assert ADULT in listed
    reissued = _run(data, "population", "reissue-code", ADULT)
    assert "Aucune demande" in _run(data, "population", "requests")  # handled by the new code
    with rt.transaction() as session:
        claire = session.scalars(select(Patient).where(Patient.ins == ADULT)).one()
    letter = data / "letters" / "activation" / f"{claire.id}.txt"
    assert _code(reissued) in letter.read_text()
    activate_profile(
        rt,
        RequestContext.operator(),
        code=_code(reissued),
        birth_date=BORN,
        email="claire@example.org",
        password="un mot de passe assez long",
        emergency_samu=True,
    )
    made = requests.record_request(
        rt, RequestContext.for_patient(claire.id), claire.id, "limitation", "Pas de relance."
    )
    assert "Pas de relance." in _run(data, "population", "requests")
    _run(data, "population", "requests", "--done", made)
    assert made in _run(data, "population", "requests", "--all")
    refused = runner.invoke(
        app, ["population", "requests", "--done", made, "--data-dir", str(data)]
    )
    assert refused.exit_code == 2

    service.close_profile(
        rt, RequestContext.for_patient(claire.id), claire.id, confirm=True, delete_archives=True
    )
    later = (clock.today() + timedelta(days=92)).isoformat()
    ran = _run(data, "jobs", "run", "--today", later)
    assert "archives : 1" in ran
    [certificate] = (data / "letters" / "certificates").glob("*.json")
    assert "Certificat valide" in _run(data, "verify-certificate", str(certificate))
    forged = json.loads(certificate.read_text())
    forged["certificate"]["reason"] = "retention"
    certificate.write_text(json.dumps(forged))
    checked = runner.invoke(app, ["verify-certificate", str(certificate), "--data-dir", str(data)])
    assert checked.exit_code == 1
    assert "invalide" in checked.output
    assert _run(data, "verify-log").strip()

    reopened = _run(data, "population", "reopen", ADULT)
    assert "Profil rouvert" in reopened
    assert _code(reopened) in letter.read_text()
    again = runner.invoke(app, ["population", "reopen", ADULT, "--data-dir", str(data)])
    assert again.exit_code == 2  # LC-2: created, not closed
    assert "Erreur" in again.output
    rt.uow.engine.dispose()
