"""The trace vocabulary and how an entry is hashed into its chain (TR-1, TR-3). Pure."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum

GENESIS = "0" * 64


class Action(StrEnum):
    """What was done. A fixed vocabulary: the history and the FHIR AuditEvent map from it."""

    READ_DOCUMENT = "read_document"
    LIST_DOCUMENTS = "list_documents"
    UPLOAD_DOCUMENT = "upload_document"
    REPLACE_DOCUMENT = "replace_document"
    DELETE_DOCUMENT = "delete_document"
    ARCHIVE_DOCUMENT = "archive_document"
    UNARCHIVE_DOCUMENT = "unarchive_document"
    MASK_DOCUMENT = "mask_document"
    UNMASK_DOCUMENT = "unmask_document"
    SHOW_TO_PATIENT = "show_to_patient"
    HIDE_FROM_PATIENT = "hide_from_patient"
    DECLARE_CONSENT = "declare_consent"
    FIND_PATIENT = "find_patient"
    BLOCK_PRO = "block_pro"
    UNBLOCK_PRO = "unblock_pro"
    AUTHORISE_PRO = "authorise_pro"
    DESIGNATE_ADMINISTRATOR = "designate_administrator"
    REVOKE_ADMINISTRATOR = "revoke_administrator"
    SET_MEDECIN_TRAITANT = "set_medecin_traitant"
    CHANGE_SETTINGS = "change_settings"
    READ_SETTINGS = "read_settings"
    READ_NOTIFICATIONS = "read_notifications"
    READ_HISTORY = "read_history"
    LOG_IN = "log_in"
    ACTIVATE_PROFILE = "activate_profile"
    QUALIFY_INS = "qualify_ins"
    IMPORT_POPULATION = "import_population"
    IMPORT_DIRECTORY = "import_directory"
    RECEIVE_MESSAGE = "receive_message"
    LIST_MESSAGES = "list_messages"
    READ_MESSAGE = "read_message"
    SEND_MESSAGE = "send_message"
    SEND_READ_RECEIPT = "send_read_receipt"
    READ_ATTACHMENT = "read_attachment"
    SAVE_ATTACHMENT = "save_attachment"
    MESSAGE_UNDELIVERABLE = "message_undeliverable"
    READ_PROFILE = "read_profile"
    CHANGE_PROFILE = "change_profile"
    IMPORT_CARE = "import_care"
    # The profile's life (LC-2…LC-9, LC-6)
    CLOSE_PROFILE = "close_profile"
    OPPOSE_PROFILE = "oppose_profile"
    WITHDRAW_OPPOSITION = "withdraw_opposition"
    REOPEN_PROFILE = "reopen_profile"
    COME_OF_AGE = "come_of_age"
    ISSUE_ACTIVATION_CODE = "issue_activation_code"
    REQUEST_ACTIVATION_CODE = "request_activation_code"
    SHARE_PROFILE = "share_profile"
    RECORD_REQUEST = "record_request"
    REQUEST_EXPORT = "request_export"
    EXPORT_RECORD = "export_record"
    DESTROY_ARCHIVES = "destroy_archives"
    YEARLY_STATEMENT = "yearly_statement"
    RUN_JOBS = "run_jobs"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


def canonical(fields: Mapping[str, object]) -> str:
    """An entry's canonical JSON: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def entry_hash(prev_hash: str, fields: Mapping[str, object]) -> str:
    """SHA-256 over the previous link and the entry's canonical JSON: change one, break the rest."""
    return hashlib.sha256((prev_hash + "\n" + canonical(fields)).encode()).hexdigest()


def trace_leaf(salt: bytes, chain_hash: str) -> bytes:
    """A trace's leaf in the transparency log: ``HMAC-SHA256(salt, hash)``, the trace's chain
    hash keyed by its chain's secret salt. The chain hash covers every field and the link
    before; the salt keeps a proof given to one patient from telling anything of another's
    traces (RFC 2104, https://www.rfc-editor.org/rfc/rfc2104)."""
    return hmac.new(salt, bytes.fromhex(chain_hash), hashlib.sha256).digest()
