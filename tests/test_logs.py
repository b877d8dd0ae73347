"""No personal data in logs: names, INS, e-mails, titles and text are dropped before rendering."""

from __future__ import annotations

import json

import pytest
import structlog

from carnet.logs import configure_logging, drop_personal_data, get_logger


def test_personal_fields_are_removed() -> None:
    event = drop_personal_data(
        None,
        "info",
        {
            "event": "x",
            "ins": "285047505601274",
            "email": "a@b.fr",
            "document_id": "abc",
            "title": "IVG",
        },
    )
    assert event == {
        "event": "x",
        "ins": "[retiré]",
        "email": "[retiré]",
        "document_id": "abc",
        "title": "[retiré]",
    }


def test_logs_are_json_lines_without_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    structlog.reset_defaults()
    configure_logging("INFO")
    get_logger("test").info(
        "integrity_failure", patient_id="p1", first_names="Claire", body="diagnostic"
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "integrity_failure"
    assert record["patient_id"] == "p1"
    assert "Claire" not in line
    assert "diagnostic" not in line
