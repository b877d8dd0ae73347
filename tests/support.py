"""Helpers shared by the tests: the test database, the fixed clock's time, free ports. Light on
purpose: pure tests import it (the live server is in ``live_server``)."""

from __future__ import annotations

import os
import re
import socket
from datetime import UTC, datetime

from carnet.access.matrix import load_matrix

#: Set to run the suite on PostgreSQL (``make test`` does when one answers).
PG_URL = os.environ.get("CARNET_TEST_DATABASE_URL")
#: Set by ``make test-citus``: the server is a Citus coordinator (issue 18).
CITUS = bool(os.environ.get("CARNET_TEST_CITUS"))
#: A test that rewrites the evidence as the superuser on the coordinator, silencing the triggers
#: there (``session_replication_role``, ``DISABLE TRIGGER``): on Citus the rows live on the
#: workers' shards, whose triggers that does not reach — tampering there is another test's.
NOT_ON_CITUS = "superuser tampering on the coordinator does not reach the workers' shards"
#: The fixed clock's time in every test.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
#: The shipped stand-in matrix (ACC-1), for tests of the pure decision.
DEFAULT_MATRIX = load_matrix()
#: A sample line of ``/metrics``' text format: name, optional labels, value.
_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\]*",?)+\})? -?[0-9.e+]+$')


def metric_samples(text: str) -> dict[str, float]:
    """``/metrics``' samples by name and labels, each line checked to be of the text format."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        assert _SAMPLE.match(line), line
        name, _, value = line.rpartition(" ")
        found[name] = float(value)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
