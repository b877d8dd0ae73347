"""The patients' MSSanté messaging rules (ID-2, MSG-1…MSG-11). Pure: no I/O, time passed in.

Who may write, when a conversation ends, where an incoming message is filed, what an undeliverable
message answers, and the texts the patient is shown. The service loads the facts; these functions
decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from carnet.identity.ins import is_valid_ins
from carnet.population.rules import ProfileState, receives_data

#: What a message-id looks like once found in a header: ``<left@right>``, nothing inside but
#: visible ASCII without brackets (RFC 5322 §3.6.4, read leniently: no ``@`` is required).
_MSG_ID = re.compile(r"<([!-;=?-~]{1,250})>")
#: At most this many ids are read from References: enough to thread, bounded for hostile input.
MAX_THREAD_KEYS = 50
#: A reply carries the root and the last ids of its thread (RFC 5322 §3.6.4 allows trimming).
MAX_REFERENCES = 20
MAX_MESSAGE_ID_LENGTH = 252
_INS_LOCAL = re.compile(r"[0-9AB]{15}")


class RecipientProblem(StrEnum):
    """Why a patient address receives nothing (MSG-4, ID-1), or is not ours at all."""

    INVALID = "invalid"
    ABSENT = "absent"
    CLOSED = "closed"
    NOT_HERE = "not_here"


class ConversationState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"
    NOTICE = "notice"


class Placement(StrEnum):
    """Where an incoming message goes."""

    APPEND = "append"
    NEW = "new"


# --------------------------------------------------------------------------------------------
# Addresses (ID-2) and recipients (MSG-4)
# --------------------------------------------------------------------------------------------


def patient_address(ins: str, domain: str) -> str:
    """ID-2: ``<matricule INS>@<patient domain>``."""
    return f"{ins}@{domain.lower()}"


def split_address(address: str) -> tuple[str, str]:
    """``(local part, domain)``; the domain lower-cased (domains are case-insensitive)."""
    local, _, domain = address.strip().rpartition("@")
    return local, domain.lower()


def ins_of_address(address: str, domain: str) -> str | None:
    """The INS an address names, if it is one of our patients' addresses and well formed.

    ``None`` when the address is not of our domain; the INS (upper-cased: Corsica's 2A/2B) when
    it has the shape and the key of one; raises ``ValueError`` for our domain with a bad INS.
    """
    local, at_domain = split_address(address)
    if at_domain != domain.lower():
        return None
    ins = local.upper()
    if not _INS_LOCAL.fullmatch(ins) or not is_valid_ins(ins):
        raise ValueError("invalid INS")
    return ins


def recipient_problem(ins_valid: bool, state: ProfileState | None) -> RecipientProblem | None:
    """MSG-4: a wrong INS (length or key) is "invalidé"; no profile (opposed, or unknown) "n'existe
    pas"; a closed profile "clôturée". A created-not-activated profile receives (MSG-5, LC-3)."""
    if not ins_valid:
        return RecipientProblem.INVALID
    if state is None or state is ProfileState.OPPOSED:
        return RecipientProblem.ABSENT
    if state is ProfileState.CLOSED:
        return RecipientProblem.CLOSED
    return None if receives_data(state) else RecipientProblem.ABSENT


_MSG4_ENDINGS = {
    RecipientProblem.ABSENT: (
        "car cette adresse Mon espace santé n'existe pas.",
        "because this Mon espace santé address does not exist.",
    ),
    RecipientProblem.CLOSED: (
        "car la messagerie Mon espace santé de votre destinataire est clôturée.",
        "because your recipient's Mon espace santé mailbox is closed.",
    ),
    RecipientProblem.INVALID: (
        "car cette adresse Mon espace santé est invalidé.",
        "because this Mon espace santé address is invalid.",
    ),
    RecipientProblem.NOT_HERE: (
        "car cette adresse n'est pas une adresse Mon espace santé de ce service.",
        "because this address is not a Mon espace santé address of this service.",
    ),
}


def undeliverable_text(problem: RecipientProblem, address: str) -> tuple[str, str]:
    """MSG-4, word for word from seed 001 (French), with the recipient's address; and English."""
    fr, en = _MSG4_ENDINGS[problem]
    return (
        f"Le message que vous avez envoyé à l'adresse \"{address}\" n'a pas pu être distribué, {fr}",
        f'The message you sent to "{address}" could not be delivered, {en}',
    )


# --------------------------------------------------------------------------------------------
# Who may write (MSG-2, MSG-9)
# --------------------------------------------------------------------------------------------

#: ``typeBAL`` of the MSSanté directory (ID-4): every kind belongs to the trust space.
MAILBOX_KINDS = frozenset({"PER", "ORG", "APP", "CAB"})


@dataclass(frozen=True, slots=True)
class SenderFacts:
    """The sender of an SMTP session, as the directory and the TLS layer know him."""

    mailbox_kind: str | None
    client_certificate_required: bool = False
    client_certificate_verified: bool = False


def null_sender_refusal(facts: SenderFacts) -> tuple[str, str] | None:
    """``MAIL FROM:<>`` (a report, issue 16) names no mailbox to look up: only the trust
    space's client certificate is checked, when one is required; what the report says is
    judged at DATA (``messaging.reports``)."""
    if facts.client_certificate_required and not facts.client_certificate_verified:
        return (
            "Connexion refusée : un certificat client de l'espace de confiance MSSanté est requis.",
            "Refused: a client certificate of the MSSanté trust space is required.",
        )
    return None


def sender_refusal(facts: SenderFacts) -> tuple[str, str] | None:
    """MSG-2: only a health actor with an MSSanté mailbox writes to a patient; in production the
    server also proves itself with a certificate of the trust space's authority."""
    uncertified = null_sender_refusal(facts)
    if uncertified is not None:
        return uncertified
    if facts.mailbox_kind not in MAILBOX_KINDS:
        return (
            "Expéditeur refusé : cette adresse n'est pas une boîte aux lettres de l'espace de "
            "confiance MSSanté (annuaire santé).",
            "Sender refused: this address is not a mailbox of the MSSanté trust space "
            "(health directory).",
        )
    return None


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    state: ConversationState
    pharmacy: bool
    #: The counterpart is an organisational mailbox: a pharmacy's is one the patient may write
    #: to first (MSG-9); a pharmacist's personal mailbox is not (issue 16).
    organisational: bool = True


@dataclass(frozen=True, slots=True)
class CounterpartFacts:
    """A mailbox the patient wants to write to, as the directory knows it."""

    in_directory: bool
    mailbox_kind: str | None
    pharmacy: bool


def reply_refusal(conversation: ConversationFacts) -> tuple[str, str] | None:
    """MSG-2, MSG-3: the patient answers only inside an open conversation. He is told he may
    write a new message only where he may (``start_refusal``): to a pharmacy's organisational
    mailbox, not to a pharmacist's personal one."""
    if conversation.state is ConversationState.CLOSED:
        if conversation.pharmacy and conversation.organisational:
            return (
                "La pharmacie a clôturé cette conversation. Vous pouvez lui écrire un nouveau message.",
                "The pharmacy closed this conversation. You may write it a new message.",
            )
        return (
            "Le professionnel a clôturé cette conversation : vous ne pouvez plus y répondre.",
            "The professional closed this conversation: you can no longer reply.",
        )
    return None


def start_refusal(counterpart: CounterpartFacts) -> tuple[str, str] | None:
    """MSG-2, MSG-9: the patient starts a conversation only with a pharmacy's organisational
    mailbox (seed 001: "uniquement sur la boîte de messagerie organisationnelle")."""
    if not (
        counterpart.in_directory and counterpart.pharmacy and counterpart.mailbox_kind == "ORG"
    ):
        return (
            "Vous ne pouvez écrire en premier qu'à la boîte organisationnelle d'une pharmacie ; "
            "les autres professionnels vous écrivent d'abord.",
            "You may start a conversation only with a pharmacy's organisational mailbox; other "
            "professionals write to you first.",
        )
    return None


# --------------------------------------------------------------------------------------------
# End of a conversation (MSG-3) and threading
# --------------------------------------------------------------------------------------------

FIN_SUBJECT = "[FIN]"


def is_fin(subject: str | None, mss_mes: Iterable[str] = ()) -> bool:
    """MSG-3: the subject is exactly ``[FIN]`` — brackets, capitals, nothing else (seed 004:
    "sans rien ajouter d'autre dans l'objet"; only the folding white space around a header value
    is not part of it) — or the MSSanté header ``X-MSS-MES: FIN`` is present."""
    if subject is not None and subject.strip(" \t\r\n") == FIN_SUBJECT:
        return True
    return any(value.strip(" \t\r\n").upper() == "FIN" for value in mss_mes)


def message_ids(header: str | None, limit: int = MAX_THREAD_KEYS) -> list[str]:
    """The message-ids a header names, in order, without repeats, at most ``limit``."""
    found: list[str] = []
    for match in _MSG_ID.finditer(header or ""):
        ident = f"<{match.group(1)}>"
        if ident not in found:
            found.append(ident)
            if len(found) >= limit:
                break
    return found


def thread_keys(in_reply_to: str | None, references: str | None) -> list[str]:
    """Ids to look the thread up by, the most telling first: In-Reply-To, then References from
    the newest back (RFC 5322 §3.6.4)."""
    keys = message_ids(in_reply_to, 5)
    for ident in reversed(message_ids(references, 10 * MAX_THREAD_KEYS)[-MAX_THREAD_KEYS:]):
        if ident not in keys:
            keys.append(ident)
    return keys[:MAX_THREAD_KEYS]


def stored_references(header: str | None) -> list[str]:
    """The References kept with a message, to answer it later: the root and the latest ids."""
    ids = message_ids(header, 10 * MAX_THREAD_KEYS)
    return ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


def normalized_message_id(header: str | None) -> str | None:
    """A message's own id, or ``None`` when it has no usable one (the service makes one)."""
    ids = message_ids(header, 1)
    if not ids or len(ids[0]) > MAX_MESSAGE_ID_LENGTH:
        return None
    return ids[0]


def placement(found: ConversationFacts | None, fin: bool) -> Placement:
    """MSG-2, MSG-3: a pro's message joins the open conversation it answers; otherwise it starts
    one (a closed conversation stays closed: "toute nouvelle discussion … à l'initiative du
    professionnel", seed 000). A ``[FIN]`` answering a closed conversation joins it."""
    if found is None:
        return Placement.NEW
    if found.state is ConversationState.OPEN or fin:
        return Placement.APPEND
    return Placement.NEW


def reply_subject(subject: str) -> str:
    stripped = subject.strip()
    if re.match(r"(?i)^(re|tr|fwd?)\s*:", stripped):
        return stripped
    return f"Re: {stripped}" if stripped else "Re:"


def reply_references(parent_references: Sequence[str], parent_id: str) -> list[str]:
    """References of an answer: the parent's, then the parent; trimmed to the root and the last."""
    chain = [i for i in parent_references if i != parent_id] + [parent_id]
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


# --------------------------------------------------------------------------------------------
# Reports that come back with the null reverse-path (issue 16, RFC 3464, RFC 8098)
# --------------------------------------------------------------------------------------------


class ReportKind(StrEnum):
    READ = "read"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    FAILED = "failed"
    OTHER = "other"


def report_notice(
    kind: ReportKind, recipient: str, subject: str, detail: str | None
) -> tuple[str, str, str]:
    """The notice filed in the conversation for a report on the patient's message: its
    subject, the French text, the English text."""
    quoted_fr, quoted_en = f"« {subject} »", f'"{subject}"'
    why_fr = f" ({detail})" if detail else ""
    if kind is ReportKind.READ:
        return (
            "Accusé de lecture",
            f"Votre message {quoted_fr} a été ouvert par {recipient}.",
            f"Your message {quoted_en} was opened by {recipient}.",
        )
    if kind is ReportKind.DELIVERED:
        return (
            "Avis de remise",
            f"Votre message {quoted_fr} a été remis à {recipient}.",
            f"Your message {quoted_en} was delivered to {recipient}.",
        )
    if kind is ReportKind.DELAYED:
        return (
            "Distribution retardée",
            f"Votre message {quoted_fr} n'a pas encore pu être remis à {recipient}{why_fr} ; "
            "de nouvelles tentatives sont en cours, rien à faire pour l'instant.",
            f"Your message {quoted_en} could not be delivered to {recipient} yet{why_fr}; "
            "it is being retried, nothing to do for now.",
        )
    if kind is ReportKind.FAILED:
        return (
            "Message non distribué",
            f"Votre message {quoted_fr} n'a pas pu être distribué à {recipient}{why_fr}.",
            f"Your message {quoted_en} could not be delivered to {recipient}{why_fr}.",
        )
    return (
        "Avis sur votre message",
        f"Un avis automatique est arrivé au sujet de votre message {quoted_fr} ({recipient}).",
        f"An automatic report arrived about your message {quoted_en} ({recipient}).",
    )


# --------------------------------------------------------------------------------------------
# Read receipts (MSG-6)
# --------------------------------------------------------------------------------------------


def receipt_allowed(requested_by: str, envelope_sender: str, in_directory: bool) -> bool:
    """RFC 8098 §2.1: a receipt goes automatically only where it cannot be abused: back to the
    sender, or to another mailbox of the trust space."""
    return requested_by.lower() == envelope_sender.lower() or in_directory


# --------------------------------------------------------------------------------------------
# Writing to a pharmacy (MSG-9, MSG-10)
# --------------------------------------------------------------------------------------------

PHARMACY_SUBJECT = ("Ordonnance", "Prescription")
PHARMACY_PREFILL = (
    "Bonjour,\n\nVeuillez trouver ci-joint mon ordonnance. Pourriez-vous préparer mon "
    "traitement ?\n\nMerci.",
    "Hello,\n\nPlease find my prescription attached. Could you prepare my treatment?\n\nThank you.",
)
PAPER_PRESCRIPTION_REMINDER = (
    "L'envoi de votre ordonnance par la messagerie ne vous dispense pas d'apporter l'ordonnance "
    "papier à la pharmacie lors du retrait de votre traitement.",
    "Sending your prescription by message does not exempt you from bringing the paper "
    "prescription to the pharmacy when you collect your treatment.",
)


@dataclass(frozen=True, slots=True)
class PharmacyChoice:
    mailbox: str
    name: str
    from_history: bool


def order_pharmacies(choices: Iterable[PharmacyChoice]) -> list[PharmacyChoice]:
    """MSG-10: those of the patient's history first (seed 001: "il voit par défaut les pharmacies
    dans lesquelles il s'est déjà rendu"), then by name; one entry per mailbox."""
    best: dict[str, PharmacyChoice] = {}
    for choice in choices:
        kept = best.get(choice.mailbox)
        if kept is None or (choice.from_history and not kept.from_history):
            best[choice.mailbox] = choice
    return sorted(best.values(), key=lambda c: (not c.from_history, c.name.lower(), c.mailbox))


# --------------------------------------------------------------------------------------------
# Going out: retries and the notice of failure
# --------------------------------------------------------------------------------------------


def retry_after(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … doubling, at most one hour between two attempts."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def gives_up(first_attempt: datetime, now: datetime, give_up_after: timedelta) -> bool:
    return now - first_attempt >= give_up_after


class Undelivered(StrEnum):
    """Why a message was given up (MSG-8: the patient reads it in the conversation)."""

    REFUSED = "refused"
    EXPIRED = "expired"
    DAMAGED = "damaged"


def failure_notice(
    recipient: str, why: Undelivered, detail: str, give_up_after: timedelta
) -> tuple[str, str]:
    """What the patient reads in the conversation when his message could not be delivered:
    refused for good (the server's reply), not accepted within the delay (the last reply), or
    damaged in storage."""
    delay_fr, delay_en = _delay(give_up_after)
    fr, en = {
        Undelivered.REFUSED: (
            f"le serveur du destinataire l'a refusé ({detail})",
            f"the recipient's server refused it ({detail})",
        ),
        Undelivered.EXPIRED: (
            f"le serveur du destinataire ne l'a pas accepté en {delay_fr} (dernière réponse : "
            f"{detail})",
            f"the recipient's server did not accept it within {delay_en} (last answer: {detail})",
        ),
        Undelivered.DAMAGED: ("son contenu stocké est altéré", "its stored content is damaged"),
    }[why]
    return (
        f"Votre message n'a pas pu être distribué à {recipient}. Raison : {fr}.",
        f"Your message could not be delivered to {recipient}. Reason: {en}.",
    )


def _delay(delay: timedelta) -> tuple[str, str]:
    hours = delay / timedelta(hours=1)
    n, fr, en = (
        (round(hours / 24), "jour", "day") if hours >= 24 else (round(hours), "heure", "hour")
    )
    n = max(1, n)
    return (f"{n} {fr}s", f"{n} {en}s") if n > 1 else (f"1 {fr}", f"1 {en}")
