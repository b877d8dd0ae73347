"""TR-3 from the command line: ``sign-log`` gives a head, ``verify-log --against`` tells whether
the database still extends it, ``verify-proof`` checks a proof with nothing but the log's key."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from support import PG_URL
from typer.testing import CliRunner

from carnet.cli.main import app
from carnet.context import Door, RequestContext
from carnet.runtime import build_runtime
from carnet.settings import Settings
from carnet.transparency import service

runner = CliRunner()
pytestmark = pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    """A demo instance whose log has a signed head, kept in a file."""
    data = tmp_path / "data"
    _ok("demo", "--patients", "2", "--data-dir", str(data))
    head = tmp_path / "head.json"
    head.write_text(_ok("sign-log", "--data-dir", str(data)))
    return data, head


def test_tr_3_cli_verify_log_against_a_head_then_after_tampering(
    signed: tuple[Path, Path],
) -> None:
    data, head = signed
    assert "Rien de nouveau" in _ok("sign-log", "--data-dir", str(data))
    verified = _ok("verify-log", "--against", str(head), "--data-dir", str(data))
    assert "étend la tête" in verified
    with sqlite3.connect(data / "carnet.db") as db:  # the file's holder, triggers dropped
        db.execute("DROP TRIGGER traces_no_update")
        db.execute("UPDATE traces SET outcome = 'denied' WHERE seq = 1")
    broken = runner.invoke(app, ["verify-log", "--against", str(head), "--data-dir", str(data)])
    assert broken.exit_code == 1
    assert "Journal altéré" in broken.output


def test_tr_3_cli_verify_proof_needs_no_database(signed: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = signed
    rt = build_runtime(Settings(data_dir=data))
    with rt.transaction() as session:
        patient_id, trace_id = session.execute(
            text("SELECT patient_id, id FROM traces WHERE patient_id != '-' LIMIT 1")
        ).one()
    ctx = RequestContext.for_patient(patient_id, door=Door.API)
    proof = service.trace_proof(rt, ctx, patient_id, trace_id).to_json()
    key = tmp_path / "key.json"
    key.write_text(json.dumps(service.log_key(rt.settings).to_json()))
    file = tmp_path / "proof.json"
    file.write_text(json.dumps(proof))
    rt.uow.engine.dispose()
    (data / "carnet.db").unlink()  # no database at all
    assert "Preuve valide" in _ok("verify-proof", str(file), "--key", str(key))
    proof["leaf_index"] += 1
    file.write_text(json.dumps(proof))
    refused = runner.invoke(app, ["verify-proof", str(file), "--key", str(key)])
    assert refused.exit_code == 1
    assert "inclusion path" in refused.output
