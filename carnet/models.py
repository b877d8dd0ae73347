"""Every table, imported once so the metadata is whole (Alembic, tests)."""

from carnet.access.models import AccessSettings, CareRelation
from carnet.audit.log_models import ChainCut, ChainSalt, LogLeaf, LogNode, LogQueue, SignedHead
from carnet.audit.models import Trace, TraceHead
from carnet.db.base import Base
from carnet.identity.models import Establishment, Mailbox, Pro, ProEstablishment
from carnet.identity.portal_models import ProAccessMode, ProSession
from carnet.keys.models import PatientKey
from carnet.lifecycle.models import (
    DeletionCertificate,
    DoomedBlob,
    Export,
    JobRun,
    LifeRequest,
    YearlyStatement,
)
from carnet.messaging.models import Attachment, Conversation, HostedMail, Message, OutgoingMail
from carnet.notify.models import Notification, OutboxEvent
from carnet.population.login_models import LoginChallenge, LoginGuard, LoginSource, WebSession
from carnet.population.models import InsQualification, Patient, Representative
from carnet.profile.models import CareLine, Contact, Directive, Measure, ProfileEntry, Vaccination
from carnet.records.models import Document

__all__ = [
    "AccessSettings",
    "Attachment",
    "Base",
    "CareLine",
    "CareRelation",
    "ChainCut",
    "ChainSalt",
    "Contact",
    "Conversation",
    "DeletionCertificate",
    "Directive",
    "Document",
    "DoomedBlob",
    "Establishment",
    "Export",
    "HostedMail",
    "InsQualification",
    "JobRun",
    "LifeRequest",
    "LogLeaf",
    "LogNode",
    "LogQueue",
    "LoginChallenge",
    "LoginGuard",
    "LoginSource",
    "Mailbox",
    "Measure",
    "Message",
    "Notification",
    "OutboxEvent",
    "OutgoingMail",
    "Patient",
    "PatientKey",
    "Pro",
    "ProAccessMode",
    "ProEstablishment",
    "ProSession",
    "ProfileEntry",
    "Representative",
    "SignedHead",
    "Trace",
    "TraceHead",
    "Vaccination",
    "WebSession",
    "YearlyStatement",
]
