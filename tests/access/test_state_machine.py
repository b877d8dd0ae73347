"""ACC-2, ACC-3, ACC-4, ACC-6, DOC-4, TR-1, TR-3 over time: a patient's settings and documents
change step by step through the real use cases, and after every step each pro and the patient
list exactly what the independent oracle (tests/oracle.py) says.

A small model of the world runs alongside: the documents and their flags, who is authorised,
blocked, administrator, médecin traitant, who has already accessed, the emergency switches.
Each listing is itself a reading (ACC-2: a first reading puts the pro on the authorised list),
so the model follows the listings too; the relations it predicts are checked against the rows.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import pytest
from factories import PDF, add_patient, add_pro, add_representative, patient_ctx, pro_ctx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from oracle import (
    AuthLevel,
    Confidentiality,
    Mode,
    OActor,
    ODocument,
    ORequest,
    OWorld,
    oracle_explain,
    oracle_may_read,
)
from oracle_flags import confidentiality_of
from sqlalchemy import event as db_event
from sqlalchemy import select
from sqlalchemy.orm import Session
from support import DEFAULT_MATRIX

from carnet.access import space
from carnet.access.acts import relation_facts, settings_row
from carnet.access.facts import Relation
from carnet.access.models import CareRelation
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.audit.verify import verify_log
from carnet.blobs.crypto import load_or_create_master_key
from carnet.blobs.local import LocalBlobStore
from carnet.clock import Clock, FixedClock, set_clock
from carnet.context import AccessMode, RequestContext
from carnet.context import AuthLevel as CarnetLevel
from carnet.db.engine import make_engine
from carnet.db.migrate import upgrade
from carnet.db.uow import UnitOfWork
from carnet.errors import Forbidden, Invalid, LevelTooLow, NotFound
from carnet.identity.models import Pro
from carnet.population.models import Patient
from carnet.population.rules import MAJORITY_AGE
from carnet.records import service as records
from carnet.runtime import Runtime
from carnet.settings import Settings

#: The fixed clock's time, as in every test.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PROS: dict[str, tuple[str, str | None, bool]] = {
    # key: (profession, specialty, SAMU regulator)
    "medecin": ("10", "SM26", False),
    "infirmier": ("60", None, False),
    "pedicure": ("80", None, False),
    "regulateur": ("10", None, True),
}
PRO_KEYS = tuple(PROS)
TYPES = ("11488-4", "11506-3", "34112-3", "18776-5", "18748-4")
REASONS = (None, "", "   ", "patient inconscient, détresse respiratoire")
#: A pro's upload: who, which type, masked, invisible to the patient, to the representatives.
UPLOADS = st.tuples(
    st.sampled_from(PRO_KEYS), st.sampled_from(TYPES), st.booleans(), st.booleans(), st.booleans()
)
EVERY_STATUS = records.DocumentFilter(
    status=("current", "superseded", "deleted"), include_archived=True
)
Status = Literal["current", "superseded", "deleted"]


@cache
def _template() -> Path:
    """A migrated database, once per process; each run of the machine copies it."""
    folder = Path(tempfile.mkdtemp(prefix="carnet-machine-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "carnet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _runtime(folder: Path) -> Runtime:
    """As tests/conftest.py builds ``rt``, on a fresh SQLite file of the machine's own."""
    path = folder / "carnet.db"
    shutil.copy(_template(), path)
    engine = make_engine(f"sqlite:///{path}")

    @db_event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Hundreds of commits per run would be mostly fsync; durability has its own tests.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return Runtime(
        settings=Settings(data_dir=folder / "data", database_url=f"sqlite:///{path}"),
        uow=UnitOfWork(engine),
        blobs=LocalBlobStore(folder / "blobs"),
        master_key=load_or_create_master_key(folder / "keys" / "master.key"),
    )


@dataclass
class ModelDocument:
    author: str
    type_code: str
    masked: bool
    invisible_patient: bool
    invisible_representatives: bool
    status: Status = "current"

    def confidentiality(self) -> frozenset[Confidentiality]:
        return confidentiality_of(
            self.masked, self.invisible_patient, self.invisible_representatives
        )


@dataclass
class ModelRelation:
    authorised: bool = False
    blocked: bool = False
    administrator: bool = False
    accessed: bool = False


@dataclass
class Model:
    age: int
    samu: bool = True
    others: bool = True
    masked: bool = False
    medecin_traitant: str | None = None
    documents: dict[str, ModelDocument] = field(default_factory=dict)
    relations: dict[str, ModelRelation] = field(
        default_factory=lambda: {key: ModelRelation() for key in PRO_KEYS}
    )

    def world(self) -> OWorld:
        return OWorld(self.age, "activated", self.samu, self.others, self.masked)

    @property
    def minor(self) -> bool:
        return self.age < MAJORITY_AGE

    def enters(
        self, key: str, mode: Mode, reason: str | None, consent: bool, level: AuthLevel
    ) -> bool:
        """Whether the pro gets into the record at all (what leaves a first access behind)."""
        rel = self.relations[key]
        if level == "cpe" or rel.blocked:
            return False
        if mode == "centre-de-regulation":
            return PROS[key][2] and self.samu
        if mode == "bris-de-glace":
            return self.others and bool(reason and reason.strip())
        return rel.authorised or rel.administrator or self.medecin_traitant == key or consent

    def reads(
        self,
        key: str,
        mode: Mode = "normal",
        reason: str | None = None,
        consent: bool = False,
        level: AuthLevel = "cps",
    ) -> None:
        """ACC-2: a reading in normal mode puts the pro on the authorised list; any reading is
        his first access (what ACC-4 asks of an administrator)."""
        if self.enters(key, mode, reason, consent, level):
            self.relations[key].accessed = True
            if mode == "normal":
                self.relations[key].authorised = True

    def seen_by_side(self, doc: ModelDocument) -> bool:
        """What the patient's side sees: himself, or for a minor his legal representative."""
        hidden = doc.invisible_patient or (self.minor and doc.invisible_representatives)
        return doc.status != "deleted" and not hidden


class AccessRulesMachine(RuleBasedStateMachine):
    """ACC-2 (consent, authorised list), ACC-3 (blocking), ACC-4 (administrators), ACC-6
    (emergencies and their switches), DOC-4 (masking), TR-1 (every listing traced), TR-3 (the
    chain of traces verifies) as the patient's world changes."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="carnet-machine-"))
        self.clock = FixedClock(NOW)
        self.previous_clock: Clock = set_clock(self.clock)
        self.rt = _runtime(self.folder)
        self.pros: dict[str, Pro] = {
            key: add_pro(self.rt, profession=p, specialty=s, samu_regulator=r)
            for key, (p, s, r) in PROS.items()
        }
        self.model = Model(age=40)
        self.patient: Patient | None = None
        self.representative: RequestContext | None = None
        #: Who listed since the last check, and the patient's chain of traces then.
        self.listings: list[str] = []
        self.last_seq = 0
        self.steps = 0

    def teardown(self) -> None:
        self.rt.uow.engine.dispose()
        set_clock(self.previous_clock)
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(
        age=st.sampled_from((40, 16)),
        documents=st.lists(UPLOADS, min_size=1, max_size=4),
        authorised=st.frozensets(st.sampled_from(PRO_KEYS)),
        medecin_traitant=st.sampled_from((None, "medecin", "regulateur")),
        blocked=st.sampled_from((None, *PRO_KEYS)),
    )
    def create_world(
        self,
        age: int,
        documents: list[tuple[str, str, bool, bool, bool]],
        authorised: frozenset[str],
        medecin_traitant: str | None,
        blocked: str | None,
    ) -> None:
        """An activated profile with documents and settings to start from, whichever rules
        this run enables; a minor's side is his legal representative's (LC-7, ACC-8)."""
        self.model = Model(age=age)
        self.patient = add_patient(self.rt, age=age)
        if self.model.minor:
            parent = add_patient(self.rt, age=45, first_names="Paul")
            add_representative(self.rt, self.patient, parent)
            self.representative = patient_ctx(parent)
        for upload in documents:
            self.upload(*upload)
        for key in sorted(authorised):
            self.authorise(key)
        self.medecin_traitant(medecin_traitant)
        if blocked:
            self.block(blocked, True)

    # --- helpers -------------------------------------------------------------------------------

    @property
    def pid(self) -> str:
        assert self.patient is not None
        return self.patient.id

    @property
    def side_ctx(self) -> RequestContext:
        """Who acts in the patient's space: his legal representative while he is a minor."""
        assert self.patient is not None
        if self.model.minor and self.representative is not None:
            return self.representative
        return patient_ctx(self.patient)

    def ctx(
        self,
        key: str,
        mode: Mode = "normal",
        reason: str | None = None,
        level: AuthLevel = "cps",
    ) -> RequestContext:
        return pro_ctx(
            self.pros[key], mode=AccessMode(mode), reason=reason, level=CarnetLevel(level)
        )

    def pick(self, index: int, keep: Literal["current", "listed"] = "listed") -> str:
        ids = [
            i
            for i, d in self.model.documents.items()
            if d.status == "current" or (keep == "listed" and d.status != "deleted")
        ]
        return ids[index % len(ids)]

    def has(self, status: tuple[Status, ...]) -> bool:
        return any(d.status in status for d in self.model.documents.values())

    def listed(self, ctx: RequestContext, consent: bool = False) -> set[str]:
        """One listing through the real use case (its trace is checked after the step)."""
        self.listings.append(ctx.actor_id)
        try:
            _, documents = records.list_documents(
                self.rt, ctx, self.pid, EVERY_STATUS, declares_consent=consent
            )
        except (NotFound, LevelTooLow):  # ID-5: a CPE reads nothing
            documents = []
        return {d.id for d in documents}

    def check_pro(
        self,
        key: str,
        mode: Mode = "normal",
        reason: str | None = None,
        consent: bool = False,
        level: AuthLevel = "cps",
    ) -> set[str]:
        """The pro's listing equals the oracle's verdict on every document, then the model
        follows the reading."""
        rel = self.model.relations[key]
        actor = OActor(
            kind="pro",
            level=level,
            samu_regulator=PROS[key][2],
            authorised=rel.authorised,
            declares_consent=consent,
            blocked=rel.blocked,
            administrator=rel.administrator,
            medecin_traitant=self.model.medecin_traitant == key,
        )
        profession, specialty, _ = PROS[key]
        seen = self.listed(self.ctx(key, mode, reason, level), consent)
        self.compare(
            seen,
            actor,
            ORequest(mode, reason),
            lambda doc: DEFAULT_MATRIX.allows(profession, specialty, doc.type_code),
            self.pros[key].rpps,
        )
        assert not (rel.blocked and seen), f"ACC-3: {key} is blocked, yet lists {seen}"
        self.model.reads(key, mode, reason, consent, level)
        return seen

    def compare(
        self,
        seen: set[str],
        actor: OActor,
        request: ORequest,
        allows: Callable[[ModelDocument], bool],
        actor_id: str,
    ) -> None:
        world = self.model.world()
        wrong = []
        for doc_id, doc in self.model.documents.items():
            odoc = ODocument(doc.confidentiality(), doc.author == actor_id, allows(doc), doc.status)
            if oracle_may_read(world, actor, odoc, request) != (doc_id in seen):
                wrong.append(
                    f"{odoc}: listed={doc_id in seen}; oracle: "
                    f"{oracle_explain(world, actor, odoc, request)}"
                )
        assert not wrong, f"{world}\n{actor}\n{request}\n" + "\n".join(wrong)

    def check_side(self, ctx: RequestContext, actor: OActor) -> None:
        self.compare(
            self.listed(ctx), actor, ORequest("normal", None), lambda _: True, ctx.actor_id
        )

    # --- rules: documents ----------------------------------------------------------------------

    @rule(
        key=st.sampled_from(PRO_KEYS),
        type_code=st.sampled_from(TYPES),
        masked=st.booleans(),
        invisible_patient=st.booleans(),
        invisible_representatives=st.booleans(),
    )
    def upload(
        self,
        key: str,
        type_code: str,
        masked: bool,
        invisible_patient: bool,
        invisible_representatives: bool,
    ) -> None:
        """DOC-1: every pro uploads, blocked or not; DOC-3: invisible to the representatives
        only for a minor."""
        new = records.NewDocument(
            type_code=type_code,
            title="Compte rendu",
            mime_type="application/pdf",
            content=PDF,
            masked=masked,
            invisible_patient=invisible_patient,
            invisible_representatives=invisible_representatives,
        )
        if invisible_representatives and not self.model.minor:
            with pytest.raises(Invalid):
                records.upload_document(self.rt, self.ctx(key), new, patient_id=self.pid)
            return
        document = records.upload_document(self.rt, self.ctx(key), new, patient_id=self.pid)
        self.model.documents[document.id] = ModelDocument(
            self.pros[key].rpps, type_code, masked, invisible_patient, invisible_representatives
        )

    @precondition(lambda self: self.has(("current",)))
    @rule(index=st.integers(0, 99), key=st.sampled_from(PRO_KEYS), masked=st.booleans())
    def replace(self, index: int, key: str, masked: bool) -> None:
        """DOC-6: only the author replaces, and a blocked author reads nothing to replace."""
        old_id = self.pick(index, "current")
        old = self.model.documents[old_id]
        new = records.NewDocument(
            type_code=old.type_code,
            title="Compte rendu, version 2",
            mime_type="application/pdf",
            content=PDF + b"\n% v2",
            masked=masked,
            invisible_patient=old.invisible_patient,
            # DOC-3: invisible to the representatives only while a minor (LC-7).
            invisible_representatives=old.invisible_representatives and self.model.minor,
        )
        is_author = old.author == self.pros[key].rpps
        self.model.reads(key)  # the record is opened, refused or not
        if not is_author or self.model.relations[key].blocked:
            with pytest.raises((NotFound, Forbidden)):
                records.replace_document(self.rt, self.ctx(key), self.pid, old_id, new)
            return
        document = records.replace_document(self.rt, self.ctx(key), self.pid, old_id, new)
        old.status = "superseded"
        self.model.documents[document.id] = ModelDocument(
            old.author,
            old.type_code,
            masked,
            new.invisible_patient,
            new.invisible_representatives,
        )

    @precondition(lambda self: self.has(("current", "superseded")))
    @rule(index=st.integers(0, 99), masked=st.booleans())
    def mask(self, index: int, masked: bool) -> None:
        """DOC-4: the patient's side masks or unmasks what it sees."""
        doc_id = self.pick(index)
        doc = self.model.documents[doc_id]
        if not self.model.seen_by_side(doc):
            with pytest.raises(NotFound):
                records.set_masked(self.rt, self.side_ctx, self.pid, doc_id, masked)
            return
        records.set_masked(self.rt, self.side_ctx, self.pid, doc_id, masked)
        doc.masked = masked

    @rule(masked=st.booleans())
    def mask_all(self, masked: bool) -> None:
        """DOC-4: every document the side sees, in one click."""
        records.mask_all(self.rt, self.side_ctx, self.pid, masked)
        for doc in self.model.documents.values():
            if self.model.seen_by_side(doc):
                doc.masked = masked

    @precondition(lambda self: self.has(("current", "superseded")))
    @rule(index=st.integers(0, 99), by=st.sampled_from(("side", *PRO_KEYS)))
    def delete(self, index: int, by: str) -> None:
        """DOC-6: the author or the patient's side deletes, logically."""
        doc_id = self.pick(index)
        doc = self.model.documents[doc_id]
        if by == "side":
            allowed, ctx = self.model.seen_by_side(doc), self.side_ctx
        else:
            self.model.reads(by)
            blocked = self.model.relations[by].blocked
            allowed, ctx = doc.author == self.pros[by].rpps and not blocked, self.ctx(by)
        if not allowed:
            with pytest.raises((NotFound, Forbidden)):
                records.delete_document(self.rt, ctx, self.pid, doc_id)
            return
        records.delete_document(self.rt, ctx, self.pid, doc_id)
        doc.status = "deleted"

    # --- rules: the patient's settings ---------------------------------------------------------

    @rule(key=st.sampled_from(PRO_KEYS), blocked=st.booleans())
    def block(self, key: str, blocked: bool) -> None:
        """ACC-3: blocked, he loses authorisation and roles; unblocked, he is not authorised."""
        rpps, rel = self.pros[key].rpps, self.model.relations[key]
        if blocked:
            space.block(self.rt, self.side_ctx, self.pid, rpps)
            rel.blocked, rel.authorised, rel.administrator = True, False, False
            if self.model.medecin_traitant == key:
                self.model.medecin_traitant = None
        else:
            space.unblock(self.rt, self.side_ctx, self.pid, rpps)
            rel.blocked = False

    @rule(key=st.sampled_from(PRO_KEYS))
    def authorise(self, key: str) -> None:
        """ACC-3: the patient agrees again; a blocked pro must be unblocked first."""
        rel = self.model.relations[key]
        if rel.blocked:
            with pytest.raises(Invalid):
                space.authorise(self.rt, self.side_ctx, self.pid, self.pros[key].rpps)
            return
        space.authorise(self.rt, self.side_ctx, self.pid, self.pros[key].rpps)
        rel.authorised = True

    @rule(key=st.sampled_from(PRO_KEYS), designate=st.booleans())
    def administrator(self, key: str, designate: bool) -> None:
        """ACC-4: only a pro who has already accessed the profile, and is not blocked."""
        rpps, rel = self.pros[key].rpps, self.model.relations[key]
        if not designate:
            space.revoke_administrator(self.rt, self.side_ctx, self.pid, rpps)
            rel.administrator = False
        elif rel.accessed and not rel.blocked:
            space.designate_administrator(self.rt, self.side_ctx, self.pid, rpps)
            rel.administrator = True
        else:
            with pytest.raises(Invalid):
                space.designate_administrator(self.rt, self.side_ctx, self.pid, rpps)

    @rule(key=st.sampled_from((None, *PRO_KEYS)))
    def medecin_traitant(self, key: str | None) -> None:
        """ACC-5: a médecin, not blocked; naming one ends the previous one's role."""
        rpps = self.pros[key].rpps if key else None
        if key and (PROS[key][0] != "10" or self.model.relations[key].blocked):
            with pytest.raises(Invalid):
                space.set_medecin_traitant(self.rt, self.side_ctx, self.pid, rpps)
            return
        space.set_medecin_traitant(self.rt, self.side_ctx, self.pid, rpps)
        self.model.medecin_traitant = key

    @rule(samu=st.booleans(), others=st.booleans(), masked=st.booleans())
    def emergency_settings(self, samu: bool, others: bool, masked: bool) -> None:
        """ACC-6: three switches; "may see masked" needs one emergency access on."""
        if masked and not (samu or others):
            with pytest.raises(Invalid):
                space.set_emergency(
                    self.rt, self.side_ctx, self.pid, samu=samu, others=others, masked=masked
                )
            return
        space.set_emergency(
            self.rt, self.side_ctx, self.pid, samu=samu, others=others, masked=masked
        )
        self.model.samu, self.model.others, self.model.masked = samu, others, masked

    @precondition(lambda self: self.model.minor)
    @rule()
    def turns_eighteen(self) -> None:
        """LC-7: at 18 the representatives lose access; the young adult finds every document,
        those invisible to the representatives too."""
        self.clock.advance(timedelta(days=2 * 366))
        self.model.age = 18

    # --- rules: readings -----------------------------------------------------------------------

    @rule(
        key=st.sampled_from(PRO_KEYS),
        mode=st.sampled_from(("bris-de-glace", "centre-de-regulation")),
        reason=st.sampled_from(REASONS),
    )
    def emergency_read(self, key: str, mode: Mode, reason: str | None) -> None:
        """ACC-6: bris de glace with a justification, centre de régulation for the regulator."""
        self.check_pro(key, mode, reason if mode == "bris-de-glace" else None)

    @rule(key=st.sampled_from(PRO_KEYS), level=st.sampled_from(("cps", "e-cps", "cpe")))
    def consent_read(self, key: str, level: AuthLevel) -> None:
        """ACC-2: the ticked box; ID-5: never with an establishment card."""
        self.check_pro(key, consent=True, level=level)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def everyone_lists_what_the_oracle_says(self) -> None:
        """ACC-2…ACC-6, DOC-4 for each pro in normal mode; ACC-3: a blocked pro lists nothing,
        in an emergency or ticking the box too; the patient (or, for a minor, his
        representative) sees his space. Then the model's relations are the rows' (ACC-2: the
        first reading authorised), TR-1: every listing left a trace, TR-3: every chain of
        traces verifies."""
        if self.patient is None:
            return
        self.steps += 1
        for key in PRO_KEYS:
            self.check_pro(key)
            if self.model.relations[key].blocked:
                # One more way in per step, in turn: an emergency of each kind, the ticked box.
                way = self.steps % 3
                mode: Mode = ("bris-de-glace", "centre-de-regulation", "normal")[way]
                reason = REASONS[-1] if way == 0 else None
                self.check_pro(key, mode, reason, consent=way == 2)
        self.check_side(patient_ctx(self.patient), OActor(kind="patient"))
        if self.representative is not None:
            self.check_side(
                self.representative, OActor(kind="legal_representative", represents_patient=True)
            )
        with self.rt.transaction() as session:
            self.check_relations(session)
            self.check_traces(session)

    def check_relations(self, session: Session) -> None:
        row = settings_row(session, self.pid)
        switches = (row.emergency_samu, row.emergency_others, row.emergency_masked)
        assert switches == (self.model.samu, self.model.others, self.model.masked)
        for key, rel in self.model.relations.items():
            rpps = self.pros[key].rpps
            expected = Relation(
                rel.authorised,
                rel.blocked,
                rel.administrator,
                self.model.medecin_traitant == key,
                accessed=rel.accessed,
            )
            found = relation_facts(session, self.pid, rpps)
            assert replace(found, formerly_authorised=False) == expected, key
            care = session.get(CareRelation, (self.pid, rpps))
            accessed = care is not None and care.first_access_at is not None
            assert accessed == rel.accessed, f"{key}: first access"

    def check_traces(self, session: Session) -> None:
        """TR-1: a listing trace per listing since the last check, allowed or refused; TR-3."""
        traces = session.execute(
            select(Trace.seq, Trace.actor_id, Trace.action)
            .where(Trace.patient_id == self.pid, Trace.seq > self.last_seq)
            .order_by(Trace.seq)
        ).all()
        traced = Counter(t.actor_id for t in traces if t.action == Action.LIST_DOCUMENTS)
        missing = Counter(self.listings) - traced
        assert not missing, f"TR-1: listings left no trace: {missing}"
        self.listings, self.last_seq = [], traces[-1].seq if traces else self.last_seq
        verification = verify_log(session)
        assert verification.breach is None, verification.breach


AccessRulesMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
TestAcc2Acc3Acc4Acc6Doc4Tr1Tr3StateMachine = AccessRulesMachine.TestCase
