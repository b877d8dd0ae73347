"""Issue 18: the FHIR door's answers are written by orjson (a search of many documents spent
most of its extra time in Pydantic's writer), byte for byte what Pydantic's writer wrote, and
what orjson would spell otherwise goes to Pydantic's writer still."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import to_json

from carnet.http.fhir.response import FhirResponse

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


def written(content: Any) -> bytes:
    return bytes(FhirResponse(content).body)


@given(JSON_VALUES)
def test_issue18_fhir_json_is_pydantics_bytes(value: Any) -> None:
    body = written(value)
    assert body == to_json(value)
    assert json.loads(body) == value


@dataclass
class Period:
    start: str


def test_issue18_what_orjson_would_spell_otherwise_is_written_as_before() -> None:
    moment = datetime(2026, 12, 1, 19, 20, 14, 164390, tzinfo=UTC)
    for content in (
        {"lastUpdated": moment},  # orjson: +00:00; Pydantic: Z
        {"valueDecimal": Decimal("37.20")},  # orjson: refused
        {"period": Period("2026-12-01")},
        {"big": 2**70},  # past 64 bits: orjson refuses
    ):
        assert written(content) == to_json(content)
    assert written({"lastUpdated": moment}) == b'{"lastUpdated":"2026-12-01T19:20:14.164390Z"}'
