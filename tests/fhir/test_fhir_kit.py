"""Issue 16 with fhir-kit-client (npm, pinned in tests/fhir_kit/package-lock.json, installed by
``.ci/run``): a second generic client follows Carnet's references, reads versions, pages a
search and patches, unchanged — over real HTTP to the live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from factories import add_patient, add_pro
from live_api import Api
from test_fhir_conformance import _consent, _publish

FOLDER = Path(__file__).parent.parent / "fhir_kit"


def _require_fhir_kit() -> str:
    """In CI (``.ci/run`` installs it) a missing client fails; elsewhere it skips."""
    node = shutil.which("node")
    if node is not None and (FOLDER / "node_modules" / "fhir-kit-client").is_dir():
        return node
    message = "fhir-kit-client is not installed: run `npm ci` in tests/fhir_kit"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_issue_16_fhir_kit_client_resolves_vreads_pages_and_patches(api: Api) -> None:
    node = _require_fhir_kit()
    patient, gp = add_patient(api.rt), add_pro(api.rt, last_name="Généraliste")
    assert _consent(api, gp, patient).status_code == 201
    _publish(api, gp, patient, "kit.1", "kit.2", "kit.3")
    _publish(api, gp, patient, "kit.4")
    run = subprocess.run(
        [node, str(FOLDER / "flows.mjs")],
        env={
            **os.environ,
            "CARNET_FHIR": f"{api.url}/fhir",
            "CARNET_TOKEN": api.pro_token(gp),
            "CARNET_INS": patient.ins,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    pages = out["pages"]
    assert [len(p) for p in pages] == [2, 2]
    assert len({i for p in pages for i in p}) == out["total"] == 4
    assert out["subject"] == {"resourceType": "Patient", "id": patient.id}
    assert out["vread"] == "1"
    assert out["patched"] == "2"
    assert len(out["listItems"]) == 4
    assert out["binary"] == "Binary"
    assert out["absent"] == 404
