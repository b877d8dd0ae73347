"""``carnet mail queue``: what waits for the relay and why, then what was given up — with the
recipient's domain, never his address (issue: mail that leaves Carnet, a bounded outbox)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload
from smtp_support import add_mailbox, address_of, deliver, mail, with_settings
from typer.testing import CliRunner

from carnet.cli.main import app
from carnet.clock import FixedClock
from carnet.messaging import service as messaging
from carnet.messaging.delivery import deliver_due
from carnet.notify.service import deliver_pending, smtp_mailer
from carnet.runtime import build_runtime
from carnet.settings import Settings

runner = CliRunner()


def test_mail_bounded_outbox_carnet_mail_queue_shows_what_waits_and_why(
    tmp_path: Path, fixed_clock: FixedClock
) -> None:
    rt = with_settings(
        build_runtime(Settings(data_dir=tmp_path)), smtp_relay="127.0.0.1:1", smtp_give_up_hours=1
    )
    patient = add_patient(rt, email="claire@example.org")
    doctor = add_mailbox(rt, pro=add_pro(rt), address="dr.martin@cabinet.mssante.fr")
    to = address_of(rt, patient)
    deliver(rt, mail(doctor.address, to), doctor.address, to)
    [conversation] = messaging.list_conversations(
        rt, patient_ctx(patient), patient.id
    ).conversations
    messaging.reply(rt, patient_ctx(patient), patient.id, conversation.id, "Merci")
    upload(rt, pro_ctx(add_pro(rt)), patient)
    assert deliver_due(rt).retried == 1
    deliver_pending(rt.uow, smtp_mailer(rt.settings), rt.settings.mail_from)

    waiting = runner.invoke(app, ["mail", "queue", "--data-dir", str(tmp_path)])
    assert waiting.exit_code == 0, waiting.output
    lines = waiting.output.splitlines()
    assert lines[0] == "3 envoi(s) en attente / waiting"
    [reply] = [line for line in lines if line.startswith("outgoing")]
    assert "message" in reply
    assert "cabinet.mssante.fr" in reply
    assert "ConnectionRefusedError" in reply
    assert " 30 s " in reply  # the next attempt, after the back-off
    emails = [line for line in lines if line.startswith("notification")]
    assert len(emails) == 2  # the message received, the document added
    assert all("example.org" in line for line in emails)
    assert "dr.martin" not in waiting.output
    assert "claire" not in waiting.output
    assert patient.ins not in waiting.output

    fixed_clock.advance(timedelta(hours=2))
    deliver_due(rt)
    failed = runner.invoke(app, ["mail", "queue", "--failed", "--data-dir", str(tmp_path)])
    assert failed.exit_code == 0, failed.output
    assert failed.output.splitlines()[0] == "1 envoi(s) abandonné(s) / given up"
    assert "ConnectionRefusedError" in failed.output
    rt.uow.engine.dispose()
