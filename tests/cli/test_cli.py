"""The operator's command line (INTERFACES.md), run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import PG_URL, free_port
from typer.testing import CliRunner

from carnet.auth.claims import PatientClaims, ProClaims
from carnet.auth.instance import load_or_create_instance_key
from carnet.auth.verify import TokenVerifier
from carnet.cli.main import app
from carnet.context import AuthLevel
from carnet.demo import personas

runner = CliRunner()
CARNET = str(Path(sys.executable).parent / "carnet")


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    env["CARNET_DATA_DIR"] = str(data)
    return env


def test_token_pro_is_verified_by_the_instance(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "token",
            "pro",
            "--rpps",
            "10000000001",
            "--specialty",
            "SM26",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    key = load_or_create_instance_key(tmp_path / "keys" / "instance.jwk")
    claims = TokenVerifier(key).verify(result.output.strip())
    assert claims == ProClaims("10000000001", "10", "SM26", AuthLevel.CPS)


def test_id_1_token_patient_refuses_a_wrong_key(tmp_path: Path) -> None:
    good = personas.CLAIRE.ins
    result = runner.invoke(app, ["token", "patient", "--ins", good, "--data-dir", str(tmp_path)])
    key = load_or_create_instance_key(tmp_path / "keys" / "instance.jwk")
    assert TokenVerifier(key).verify(result.output.strip()) == PatientClaims(good)
    bad = good[:13] + f"{(int(good[13:]) + 1) % 100:02d}"
    refused = runner.invoke(app, ["token", "patient", "--ins", bad, "--data-dir", str(tmp_path)])
    assert refused.exit_code == 2
    assert "clé" in refused.output
    assert "key" in refused.output


@pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")
def test_lc_1_population_import_reports_bad_lines_and_writes_letters(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    good = personas.CLAIRE
    feed.write_text(
        "ins,birth_names,first_names,sex,birth_date,birth_place,email\n"
        f"{good.ins},MARTIN,Claire,F,1985-04-12,75056,c@example.org\n"
        f"{good.ins[:13]}00,DURAND,Jean,M,1970-01-01,75056,\n",
        encoding="utf-8",
    )
    letters = tmp_path / "letters.csv"
    result = runner.invoke(
        app,
        [
            "population",
            "import",
            str(feed),
            "--letters",
            str(letters),
            "--data-dir",
            str(tmp_path / "data"),
        ],
    )
    assert result.exit_code == 1
    assert "1 créés" in result.output
    assert "ligne 3" in result.output
    assert oct(letters.stat().st_mode & 0o777) == "0o600"
    assert good.ins in letters.read_text()
    again = runner.invoke(
        app,
        [
            "population",
            "import",
            str(feed),
            "--letters",
            str(tmp_path / "letters-2.csv"),
            "--data-dir",
            str(tmp_path / "data"),
        ],
    )
    assert "0 créés" in again.output
    assert "1 inchangés" in again.output


@pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")
def test_lc_1_population_import_never_overwrites_a_letters_file(tmp_path: Path) -> None:
    """Run again after a crash with the same ``--letters``, an import would have emptied the
    file holding the first run's codes: refused, and nothing changes."""
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "ins,birth_names,first_names,sex,birth_date,birth_place,email\n"
        f"{personas.CLAIRE.ins},MARTIN,Claire,F,1985-04-12,75056,\n",
        encoding="utf-8",
    )
    letters = tmp_path / "letters.csv"
    letters.write_text("ins,first_names,birth_names,activation_code,expires\nprinted-codes\n")
    before = letters.read_bytes()
    data = tmp_path / "data"
    args = ["population", "import", str(feed), "--letters", str(letters), "--data-dir", str(data)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "existe déjà" in refused.output
    assert "already exists" in refused.output
    assert letters.read_bytes() == before
    assert not (data / "carnet.db").exists()  # not even a database made


def test_lc_1_population_import_that_cannot_start_leaves_no_letters_file(tmp_path: Path) -> None:
    """No database to import into: nothing imported, and no letters file left that the same
    command, run again once the database is back, would be refused for."""
    feed = tmp_path / "feed.csv"
    feed.write_text("ins,birth_names,first_names,sex,birth_date,birth_place\n", encoding="utf-8")
    letters = tmp_path / "letters.csv"
    args = ["population", "import", str(feed), "--letters", str(letters)]
    unreachable = {"CARNET_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"}
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")], env=unreachable)
    assert result.exit_code != 0
    assert not letters.exists()


@pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")
def test_lc_1_population_import_makes_each_batch_letters_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each committed batch's letters are on disk (fsync) before the next batch is stored: a
    power cut loses at most the letters of the batch being written, not every code so far."""
    from carnet.identity.ins import make_ins
    from carnet.population import service

    monkeypatch.setattr(service, "BATCH", 2)
    rows = ["ins,birth_names,first_names,sex,birth_date,birth_place"]
    rows += [f"{make_ins(f'2850175056{n:03d}')},MARTIN,Claire,F,1985-01-12,75056" for n in range(5)]
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    letters = tmp_path / "letters.csv"
    durable: list[int] = []
    real_fsync = os.fsync

    def watched(fd: int) -> None:
        real_fsync(fd)
        if os.path.realpath(f"/proc/self/fd/{fd}") == str(letters.resolve()):
            durable.append(len(letters.read_text().splitlines()) - 1)  # less the header

    monkeypatch.setattr(os, "fsync", watched)  # what carnet.cli.population calls
    args = ["population", "import", str(feed), "--letters", str(letters)]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert durable[:3] == [2, 4, 5]


@pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")
def test_tr_3_demo_then_verify_log(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--patients", "3", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert personas.CLAIRE.ins in result.output
    assert "carnet token pro --rpps 10000000001" in result.output
    verified = runner.invoke(app, ["verify-log", "--data-dir", str(tmp_path)])
    assert verified.exit_code == 0, verified.output
    assert "Journal intègre" in verified.output


@pytest.mark.skipif(PG_URL is not None, reason="the CLI's embedded default is SQLite")
def test_serve_demo_answers_healthz_over_http(tmp_path: Path) -> None:
    port, smtp_port = free_port(), free_port()  # never a fixed port another program may hold
    process = subprocess.Popen(
        [
            CARNET,
            "serve",
            "--demo",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
            "--data-dir",
            str(tmp_path),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180  # migrations and the demo, on a loaded machine
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).status_code == 200
    finally:
        process.terminate()
        captured, _ = process.communicate(timeout=10)
    output = captured.decode()
    assert f"http://127.0.0.1:{port}/" in output
    assert (
        personas.CLAIRE.ins not in output.split("Carnet écoute")[-1]
    )  # no INS in the logs after start


@pytest.mark.parametrize(
    ("environment", "said"),
    [
        ({"CARNET_OIDC_ISSUER": "https://psc.example/realms/x"}, "CARNET_OIDC_AUDIENCE"),
        (
            {"CARNET_OIDC_ISSUER": "http://psc.example/realms/x", "CARNET_OIDC_AUDIENCE": "a"},
            "https://",
        ),
        (
            {
                "CARNET_OIDC_ISSUER": "https://psc.example/realms/x",
                "CARNET_OIDC_AUDIENCE": "a",
                "CARNET_OIDC_CLIENT_ID": "carnet",
                "CARNET_OIDC_CLIENT_AUTH": "private_key_jwt",
            },
            "CARNET_OIDC_CLIENT_KEY_FILE",
        ),
    ],
)
def test_oidc_serve_refuses_to_start_with_unsafe_settings(
    tmp_path: Path, environment: dict[str, str], said: str
) -> None:
    """An issuer without an audience would take tokens meant for other services."""
    result = runner.invoke(
        app, ["serve", "--port", str(free_port()), "--data-dir", str(tmp_path)], env=environment
    )
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Carnet écoute" not in result.output
