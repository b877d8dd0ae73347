"""MSG-2, MSG-4: the door reads the paths of MAIL FROM and RCPT TO exactly as aiosmtpd does.

``CarnetSMTP._getaddr`` matches the plain ``<local@domain> PARAMS`` form itself (aiosmtpd's
parser is a third of a message's CPU) and hands anything else to aiosmtpd; on every input both
must give the same address and the same parameters, or the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carnet.smtp.server import _PLAIN_PATH, CarnetSMTP

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
atoms = st.text(ATEXT, min_size=1, max_size=8)
local_parts = st.lists(atoms, min_size=1, max_size=4).map(".".join)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=1, max_size=3).map(".".join)
spaces = st.sampled_from(["", " ", "  ", "\t", " \t "])
params = st.lists(st.sampled_from(["SIZE=1055", "BODY=8BITMIME", "SMTPUTF8", "X=(y)"]), max_size=3)
odd = st.sampled_from(['"a b"', "é", "[1.2.3.4]", "(c)", "a..b", ".a", "a.", "", "<>", " ", ">"])


class _Paths:
    """Just what ``_getaddr`` reads of a protocol instance."""

    local_part_limit = CarnetSMTP.local_part_limit


def ours(arg: str) -> tuple[str | None, str | None]:
    result: tuple[str | None, str | None] = CarnetSMTP._getaddr(_as_carnet(), arg)
    return result


def theirs(arg: str) -> tuple[str | None, str | None]:
    result: tuple[str | None, str | None] = SMTP._getaddr(_Paths(), arg)  # type: ignore[arg-type]
    return result


def _as_carnet() -> Any:
    probe = CarnetSMTP.__new__(CarnetSMTP)
    probe.local_part_limit = CarnetSMTP.local_part_limit
    return probe


def _outcome(read: Callable[[str], tuple[str | None, str | None]], arg: str) -> object:
    """The address and the parameters as aiosmtpd then splits them; or the error raised (the
    e-mail package's parser has inputs it fails on: then both must fail alike)."""
    try:
        address, rest = read(arg)
    except Exception as error:
        return type(error)
    return address, (rest or "").split() if address is not None else None


def _same(arg: str) -> None:
    assert _outcome(ours, arg) == _outcome(theirs, arg), arg


@settings(max_examples=2000, deadline=None)
@given(before=spaces, local=local_parts, domain=domains, between=spaces, words=params, after=spaces)
@example(before="", local="a" * 65, domain="b.fr", between=" ", words=[], after="")
@example(before="", local="a" * 64, domain="b.fr", between=" ", words=["SIZE=1"], after=" ")
def test_msg_2_plain_paths_read_as_aiosmtpd_reads_them(
    before: str, local: str, domain: str, between: str, words: list[str], after: str
) -> None:
    arg = f"{before}<{local}@{domain}>{between}{' '.join(words)}{after}"
    if not any("(" in w for w in words) and (between or not words):
        assert _PLAIN_PATH.fullmatch(arg), f"the plain form must take the fast path: {arg!r}"
    _same(arg)


@settings(max_examples=1000, deadline=None)
@given(local=st.one_of(local_parts, odd), domain=st.one_of(domains, odd), tail=odd)
def test_msg_4_other_paths_fall_back_to_aiosmtpd(local: str, domain: str, tail: str) -> None:
    for arg in (f"<{local}@{domain}>", f"<{local}@{domain}>{tail}", f"{local}@{domain}"):
        _same(arg)
