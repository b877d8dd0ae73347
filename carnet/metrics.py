"""Counters of what this process did since it started, exposed at ``/metrics``.

The Prometheus text format (https://prometheus.io/docs/instrumenting/exposition_formats/): one
``# HELP`` and one ``# TYPE`` line per metric, then a sample per set of labels. A label never
carries personal data: kinds, reasons, routes (templates, not paths), status codes. The counters
belong to the ``Runtime`` (one per process); each worker process of a server counts its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

#: Every counter, with what it counts (its ``# HELP`` line).
COUNTERS: Mapping[str, str] = {
    "carnet_smtp_messages_accepted_total": "Messages the SMTP door answered 250 to after DATA.",
    "carnet_smtp_refused_total": "Replies of the SMTP door that refused, by stage and reason.",
    "carnet_mail_queued_total": "Mail that entered an outgoing queue, by kind.",
    "carnet_mail_sent_total": "Mail handed over to the relay or delivered locally, by kind.",
    "carnet_mail_deferred_total": "Attempts that failed for now and will be retried, by kind.",
    "carnet_mail_failed_total": "Mail given up for good, by kind and reason.",
    "carnet_http_requests_total": "HTTP requests answered, by route, method and status.",
}

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe counters: the SMTP door, the HTTP threads and the workers all count here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[Labels, int]] = {name: {} for name in COUNTERS}

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            samples = self._counts[name]
            samples[key] = samples.get(key, 0) + amount

    def value(self, name: str, **labels: str) -> int:
        """One sample (0 when never counted): for tests and the operator's checks."""
        with self._lock:
            return self._counts[name].get(tuple(sorted(labels.items())), 0)

    def render(self, gauges: Iterable[tuple[str, str, Mapping[Labels, float]]] = ()) -> str:
        """The text exposition of every counter, then of ``gauges`` (name, help, samples)
        measured by the caller at scrape time."""
        with self._lock:
            snapshot = {name: dict(samples) for name, samples in self._counts.items()}
        lines: list[str] = []
        for name, help_text in COUNTERS.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            samples = snapshot[name] or {(): 0}
            lines += [f"{name}{_labels(key)} {value}" for key, value in sorted(samples.items())]
        for name, help_text, gauge in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            lines += [f"{name}{_labels(key)} {value:g}" for key, value in sorted(gauge.items())]
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
