"""Structured JSON logs that never carry personal data.

Keys that could hold names, INS, addresses or text are dropped before rendering, whatever the
caller passed: a log line is for operators, not a side channel to the record.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

_FORBIDDEN_KEYS = frozenset(
    {
        "ins",
        "nir",
        "name",
        "names",
        "first_names",
        "birth_name",
        "email",
        "phone",
        "subject",
        "body",
        "text",
        "title",
        "content",
        "address",
        "traits",
        "password",
        "code",
        "token",
    }
)


def drop_personal_data(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _FORBIDDEN_KEYS:
            event[key] = "[retiré]"
    return event


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


def pseudonym(key: bytes, value: str) -> str:
    """A keyed hash of an address, for a log line: the same address gives the same pseudonym (an
    operator can follow one mailbox through the log), and without the key no dictionary of
    INS or e-mail addresses turns it back into the address."""
    digest = hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
    return digest[:16]
