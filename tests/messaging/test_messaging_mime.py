"""Reading and writing MIME (pure): whatever bytes come, a message or a clean refusal."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smtp_support import nested

from carnet.messaging import mime


def test_a_plain_message() -> None:
    message = EmailMessage()
    message["From"] = "Dr Louis Bernard <louis.bernard@medecin.mssante.fr>"
    message["Subject"] = "Résultats"
    message["Message-ID"] = "<1@x>"
    message["In-Reply-To"] = "<0@x>"
    message["References"] = "<a@x> <0@x>"
    message["X-MSS-MES"] = "FIN"
    message["Disposition-Notification-To"] = "louis.bernard@medecin.mssante.fr"
    message.set_content("Bonjour,\nrésultats normaux.")
    parsed = mime.parse(message.as_bytes(policy=email.policy.SMTP))
    assert parsed.subject == "Résultats"
    assert parsed.body == "Bonjour,\nrésultats normaux."
    assert (parsed.author_name, parsed.author_address) == (
        "Dr Louis Bernard",
        "louis.bernard@medecin.mssante.fr",
    )
    assert (parsed.message_id, parsed.in_reply_to, parsed.references) == (
        "<1@x>",
        "<0@x>",
        "<a@x> <0@x>",
    )
    assert parsed.mss_mes == ("FIN",)
    assert parsed.receipt_to == "louis.bernard@medecin.mssante.fr"


def test_attachments_html_alternatives_and_forwarded_messages() -> None:
    message = EmailMessage()
    message["Subject"] = "Pièces"
    message.set_content("Texte")
    message.add_alternative("<p>Texte <b>riche</b></p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="a.pdf"
    )
    inner = EmailMessage()
    inner["Subject"] = "Transféré"
    inner.set_content("Dedans")
    message.add_attachment(inner)
    message.add_attachment(b"\x00\x01", maintype="application", subtype="octet-stream")
    parsed = mime.parse(message.as_bytes())
    assert parsed.body == "Texte"
    names = [(a.filename, a.mime_type) for a in parsed.attachments]
    assert names == [
        ("a.pdf", "application/pdf"),
        ("piece-jointe-2.eml", "message/rfc822"),
        ("piece-jointe-3.bin", "application/octet-stream"),
    ]
    assert parsed.attachments[0].content == b"%PDF-1.4 data"
    assert b"Dedans" in parsed.attachments[1].content


def test_html_only_becomes_text() -> None:
    message = EmailMessage()
    message.set_content("<p>Bonjour</p><script>x()</script><p>Madame</p>", subtype="html")
    assert mime.parse(message.as_bytes()).body == "Bonjour\nMadame"


def test_non_utf8_bodies_and_headers_are_decoded_not_dropped() -> None:
    latin = (
        b"From: a@b.fr\r\nSubject: R\xe9sultat \x00\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xe9 cr\xe8me\r\n"
    )
    parsed = mime.parse(latin)
    assert parsed.subject == "Résultat"
    assert parsed.body == "Café crème"
    unknown = b"Subject: x\r\nContent-Type: text/plain; charset=x-inconnu\r\n\r\n\xff\xfe ok\r\n"
    assert mime.parse(unknown).body.endswith("ok")
    encoded = b"Subject: =?x-nope?q?abc?= =?utf-8?b?!!!?=\r\n\r\nb\r\n"
    assert "abc" in mime.parse(encoded).subject


def test_hostile_file_names_are_made_safe() -> None:
    message = EmailMessage()
    message.set_content("x")
    message.add_attachment(
        b"data", maintype="application", subtype="pdf", filename="../../etc/pass\x00wd"
    )
    [attachment] = mime.parse(message.as_bytes()).attachments
    assert attachment.filename == "passwd"


def test_nesting_within_the_bounds_is_read() -> None:
    assert mime.parse(nested(50)).body == "au fond"


@pytest.mark.parametrize("depth", [mime.MAX_CONTAINERS + 1, 5000])
def test_deeper_nesting_is_refused_cleanly(depth: int) -> None:
    with pytest.raises(mime.Unreadable) as refused:
        mime.parse(nested(depth))
    assert "imbriquée" in refused.value.fr


def test_too_many_attachments_are_refused() -> None:
    message = EmailMessage()
    message.set_content("x")
    for n in range(mime.MAX_ATTACHMENTS + 1):
        message.add_attachment(b"d", maintype="application", subtype="pdf", filename=f"{n}.pdf")
    with pytest.raises(mime.Unreadable):
        mime.parse(message.as_bytes())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_message_or_a_clean_refusal(raw: bytes) -> None:
    try:
        parsed = mime.parse(raw)
    except mime.Unreadable:
        return
    for text in (parsed.subject, parsed.body, parsed.author_name):
        assert "\x00" not in text
        text.encode("utf-8")  # storable: no lone surrogates


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/mixed; boundary=x\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Content-Disposition: attachment; filename*=utf-8''%ff%fe\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"\r\n",
                b"--x\r\n",
                b"--x--\r\n",
                b"Subject: =?utf-8?q?=ff?=\r\n",
                b"\xff\xfe\x00garbage\r\n",
                b".\r\n",
                b"\n.\n",
            ]
        ),
        max_size=60,
    )
)
def test_mime_shaped_garbage_gives_a_message_or_a_clean_refusal(lines: list[bytes]) -> None:
    try:
        parsed = mime.parse(b"".join(lines))
    except mime.Unreadable:
        return
    parsed.body.encode("utf-8")


def test_composed_answers_read_back() -> None:
    out = mime.Outgoing(
        message_id="<o@patient.mssante.fr>",
        mail_from="285047505601289@patient.mssante.fr",
        from_name="Léa DUBOIS",
        to="ph@pharmacie.mssante.fr",
        to_name="Pharmacie de la Gare",
        subject="Ordonnance à préparer",
        body="Bonjour,\nmerci.",
        date=datetime(2026, 1, 1, tzinfo=UTC),
        in_reply_to="<p@x>",
        references=["<r@x>", "<p@x>"],
        attachments=[mime.ParsedAttachment("ordo.pdf", "application/pdf", b"%PDF-1.4")],
    )
    raw = mime.compose(out)
    assert b"\r\n" in raw
    assert all(byte < 128 for byte in raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Ordonnance à préparer"
    assert (message["In-Reply-To"], message["References"]) == ("<p@x>", "<r@x> <p@x>")
    parsed = mime.parse(raw)
    assert parsed.body == "Bonjour,\nmerci."
    assert parsed.attachments[0].content == b"%PDF-1.4"


def test_msg_6_a_receipt_is_an_rfc_8098_report() -> None:
    raw = mime.compose_receipt(
        mime.Receipt(
            message_id="<mdn@patient.mssante.fr>",
            patient_address="285047505601289@patient.mssante.fr",
            patient_name="Claire MARTIN",
            to="dr@medecin.mssante.fr",
            original_message_id="<orig@medecin>",
            original_subject="Résultats",
            date=datetime(2026, 1, 1, tzinfo=UTC),
            reporting_ua="patient.mssante.fr; Carnet",
        )
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "disposition-notification"
    assert message["Auto-Submitted"] == "auto-replied"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/disposition-notification",
    ]
    text = raw.decode()
    assert "Original-Message-ID: <orig@medecin>\r\n" in text
    assert "Final-Recipient: rfc822;285047505601289@patient.mssante.fr\r\n" in text
    assert "Disposition: manual-action/MDN-sent-automatically; displayed\r\n" in text
