"""Issue 16's refusal of a bare CR or LF (as Postfix's ``smtpd_forbid_bare_newline``), now by
counting (issue 18: the regular expression held the SMTP door's event loop ten times as long):
the same verdict as a regular expression that looks at every CR and LF's neighbour."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from carnet.smtp.replies import has_bare_newline

#: The oracle: a CR not followed by LF, or an LF not preceded by CR.
LONE = re.compile(rb"\r(?!\n)|(?<!\r)\n")

pieces = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"\r\r\n", b"\r\n\n", b"."]))


@given(pieces)
def test_issue16_bare_newline_as_the_lookaround_says(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert has_bare_newline(data) is (LONE.search(data) is not None)


def test_issue16_bare_newline_examples() -> None:
    assert not has_bare_newline(b"")
    assert not has_bare_newline(b"Subject: x\r\n\r\ntexte\r\n")
    for smuggled in (b"a\nb", b"a\rb", b"a\r\r\nb", b"a\r\n\nb", b"\n", b"\r", b"fin\r"):
        assert has_bare_newline(smuggled), smuggled
