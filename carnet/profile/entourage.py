"""Entourage et volontés (PRF-1, ACC-7): the trusted person (one at a time), relatives to contact,
and advance directives — written online on the official model's questions, or uploaded as a PDF
(sealed with the patient's data key, like a document's bytes)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.record import Record
from carnet.access.rules import Section, Why, section_target
from carnet.audit.rules import Action
from carnet.blobs.crypto import DecryptionFailed, decrypt, encrypt
from carnet.context import RequestContext
from carnet.errors import IntegrityFailure
from carnet.ids import new_id
from carnet.keys.service import current_key, key_by_id
from carnet.profile import rules
from carnet.profile.models import Contact, Directive
from carnet.profile.rules import ContactIn
from carnet.profile.service import open_profile, trace_change
from carnet.profile.views import ContactView, DirectiveView, Entourage
from carnet.runtime import Runtime


def entourage_of(record: Record) -> Entourage:
    """Contacts and directives, one trace for the section."""
    contacts = [ContactView.of(c) for c in record.profile.contacts(trace=False)]
    directives = [DirectiveView.of(d) for d in record.profile.directives(trace=False)]
    record.profile.traced(Section.ENTOURAGE, len(contacts) + len(directives))
    return Entourage(tuple(contacts), tuple(directives))


def entourage(rt: Runtime, ctx: RequestContext, patient_id: str) -> Entourage:
    with rt.transaction() as session:
        return entourage_of(open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE))


def _trusted_elsewhere(record: Record, role: str, contact_id: str | None) -> int:
    if role != "trusted_person":
        return 0
    return sum(
        1
        for c in record.profile.contacts(trace=False)
        if c.role == "trusted_person" and c.id != contact_id
    )


def save_contact(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    new: ContactIn,
    contact_id: str | None = None,
) -> ContactView:
    """A new contact, or ``contact_id`` changed; one trusted person at a time."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.ENTOURAGE)
        checked = rules.check_contact(new)
        rules.check_one_trusted_person(
            checked.role, _trusted_elsewhere(record, checked.role, contact_id)
        )
        now = clock.now()
        if contact_id is None:
            row = Contact(
                patient_id=record.patient_id,
                id=new_id(),
                author_id=ctx.actor_id,
                created_at=now,
            )
            session.add(row)
        else:
            row = record.profile.contact(contact_id, Action.CHANGE_PROFILE)
        for name in ("role", "first_names", "last_name", "relationship", "phone", "email", "note"):
            setattr(row, name, getattr(checked, name))
        row.updated_at = now
        trace_change(record, Section.ENTOURAGE, "add" if contact_id is None else "update", row.id)
        return ContactView.of(row)


def delete_contact(rt: Runtime, ctx: RequestContext, patient_id: str, contact_id: str) -> None:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.ENTOURAGE)
        session.delete(record.profile.contact(contact_id, Action.CHANGE_PROFILE))
        trace_change(record, Section.ENTOURAGE, "delete", contact_id)


def write_directives(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    answers: dict[str, str],
    directive_id: str | None = None,
) -> DirectiveView:
    """Advance directives written online (the official model's questions): new, or rewritten;
    dated today."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.ENTOURAGE)
        checked = rules.check_answers(answers)
        now = clock.now()
        if directive_id is None:
            row = _new_directive(record, ctx, "form")
            session.add(row)
        else:
            row = record.profile.directive(directive_id, Action.CHANGE_PROFILE)
        row.kind, row.answers = "form", json.dumps(checked, ensure_ascii=False, sort_keys=True)
        row.key_id = row.file_sealed = row.file_size = row.file_sha256 = None
        row.written_on, row.updated_at = now.date(), now
        trace_change(record, Section.ENTOURAGE, "add" if directive_id is None else "update", row.id)
        return DirectiveView.of(row)


def _new_directive(record: Record, ctx: RequestContext, kind: str) -> Directive:
    now = clock.now()
    return Directive(
        patient_id=record.patient_id,
        id=new_id(),
        kind=kind,
        written_on=now.date(),
        author_id=ctx.actor_id,
        created_at=now,
        updated_at=now,
    )


def _aad(patient_id: str, directive_id: str) -> bytes:
    return f"{patient_id}/{directive_id}/directive".encode()


def upload_directives(
    rt: Runtime, ctx: RequestContext, patient_id: str, data: bytes, mime: str
) -> DirectiveView:
    """Advance directives uploaded as a PDF (5 MB at most), sealed in their row."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.ENTOURAGE)
        rules.check_directive_file(data, mime)
        row = _new_directive(record, ctx, "file")
        key_id, key = current_key(session, rt.master_key, record.patient_id)
        row.key_id, row.file_sealed = key_id, encrypt(key, data, _aad(record.patient_id, row.id))
        row.file_size, row.file_sha256 = len(data), hashlib.sha256(data).hexdigest()
        session.add(row)
        trace_change(record, Section.ENTOURAGE, "add", row.id)
        return DirectiveView.of(row)


def _opened(session: Session, rt: Runtime, row: Directive) -> bytes:
    assert row.key_id is not None
    assert row.file_sealed is not None
    key = key_by_id(session, rt.master_key, row.patient_id, row.key_id)
    try:
        data = decrypt(key, row.file_sealed, _aad(row.patient_id, row.id))
    except DecryptionFailed:
        data = b""
    if hashlib.sha256(data).hexdigest() != row.file_sha256:
        raise IntegrityFailure(
            "Le fichier des directives est altéré : il n'est pas servi.",
            "The directives' file is damaged: it is not served.",
        )
    return data


def directive_file(
    rt: Runtime, ctx: RequestContext, patient_id: str, directive_id: str
) -> tuple[DirectiveView, bytes]:
    """An uploaded directives' PDF, checked against its SHA-256; read traced."""
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE)
        row = record.profile.directive(directive_id)
        if row.kind != "file":
            record.refuse(Action.READ_PROFILE, Why.ABSENT, target=section_target(Section.ENTOURAGE))
        data = _opened(session, rt, row)
        record.profile.traced(Section.ENTOURAGE, 1)
        return DirectiveView.of(row), data


def delete_directive(rt: Runtime, ctx: RequestContext, patient_id: str, directive_id: str) -> None:
    with rt.transaction() as session:
        record = open_profile(session, rt, ctx, patient_id, Action.CHANGE_PROFILE)
        record.profile.check_write(Section.ENTOURAGE)
        session.delete(record.profile.directive(directive_id, Action.CHANGE_PROFILE))
        trace_change(record, Section.ENTOURAGE, "delete", directive_id)
