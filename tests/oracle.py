"""Independent test oracle: who may read which document of a patient's record.

Written ONLY from spec/RULES.md, spec/REFERENCE.md and the French seeds in seeds/*.txt,
never from the code under carnet/: a property test compares Carnet's decision with this
one and a mismatch means one of the two misread the texts. Where a seed and RULES.md
disagree the seed wins (RULES.md preamble). Seeds are named by their number: 000 (FAQ
professionnels), 001 (guide DMP, questions de patients, fiche Mon Espace Santé), 002 (fiche
pharmaciens), 004 (mode d'emploi Mon espace santé / DMP / MSS).

The decision is one chain of checks, each naming the rule that decides; the first check
that concludes wins. `oracle_explain` returns the same chain's verdict in words.
The gates shared with the medical profile (`oracle_profile.py`) and the history
(`oracle_history.py`) are public here: `record_refusal`, `patient_side_refusal`,
`pro_access_refusal`. This module also answers the pro's TD0.2 authorisation status.
"""

from dataclasses import dataclass
from typing import Literal

ProfileState = Literal["created", "activated", "opposed", "closed"]
ActorKind = Literal[
    "patient",
    "legal_representative",
    "guardian_of_person",
    "guardian_of_property",
    "pro",
    "operator",
    "third_party",
]
AuthLevel = Literal["cps", "e-cps", "cpe"]
Mode = Literal["normal", "bris-de-glace", "centre-de-regulation"]
Confidentiality = Literal["N", "MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"]
DocumentStatus = Literal["current", "superseded", "archived", "deleted"]
AuthorisationStatus = Literal["VALIDE", "NON_EXISTE", "INTERDIT", "EXPIRE"]

MAJORITY_AGE = 18  # LC-7: "At 18 the representatives lose access"


@dataclass(frozen=True)
class OWorld:
    patient_age: int
    profile_state: ProfileState
    emergency_samu: bool
    emergency_others: bool
    emergency_masked: bool


@dataclass(frozen=True)
class OActor:
    kind: ActorKind
    represents_patient: bool = False
    level: AuthLevel = "cps"
    samu_regulator: bool = False
    authorised: bool = False
    declares_consent: bool = False
    blocked: bool = False
    administrator: bool = False
    medecin_traitant: bool = False
    # On the patient's list of authorised pros once, and no longer (ACC-3: blocked then
    # unblocked); see `oracle_authorisation_status`.  Reading ignores it: such a pro is
    # simply not `authorised`.
    formerly_authorised: bool = False


@dataclass(frozen=True)
class ODocument:
    confidentiality: frozenset[Confidentiality]
    actor_is_author: bool
    habilitation_allows: bool
    status: DocumentStatus


@dataclass(frozen=True)
class ORequest:
    mode: Mode
    reason: str | None


NORMAL = ORequest(mode="normal", reason=None)

Verdict = tuple[bool, str]


def _deny(why: str) -> Verdict:
    return (False, why)


def _allow(why: str) -> Verdict:
    return (True, why)


def record_refusal(world: OWorld, actor: OActor) -> str | None:
    """Why nobody of `actor`'s kind reads anything of this record, or None."""
    # ACC-9 (seed 001 q.1 "Aucun autre acteur (employeur, État, Assurance Maladie,
    # complémentaire santé, banque, assurance ...) ne pourra accéder"): the operator
    # stands for the Assurance Maladie, so it feeds the record (DOC-1) but never reads it.
    if actor.kind in ("third_party", "operator"):
        return f"ACC-9: no one else (employer, State, insurer, bank) reads ({actor.kind})"
    # LC-2, LC-5, LC-9: an opposed profile has no space; a closed one's data are deleted
    # or archived, not readable, by anyone (seed 001 table: "le DMP est fermé").
    if world.profile_state in ("opposed", "closed"):
        return f"LC-2/LC-5: the profile is {world.profile_state}; nothing to read"
    return None


def pro_access_refusal(world: OWorld, actor: OActor, req: ORequest) -> str | None:
    """Why this pro may not open the record in this mode (ACC-2, ACC-6), or None.

    Checked after ID-5 and ACC-3 (and, for documents, after DOC-5)."""
    # ACC-4 / ACC-5: an administrator must already have accessed the profile (seed 001
    # "doit s'être connecté au moins une fois"), so he is on the authorised list; the
    # médecin traitant is the core of the care team (consent presumed, seed 001).
    extended = actor.administrator or actor.medecin_traitant
    if req.mode == "centre-de-regulation":
        # ACC-6 (seeds 000 q.11, 001 §3.4): SAMU regulator, no reason, SAMU switch on.
        # A declared emergency is judged as such: no fallback to normal access.
        if not actor.samu_regulator:
            return "ACC-6: centre-de-regulation mode is for SAMU regulators"
        if not world.emergency_samu:
            return "ACC-6: the patient refused SAMU emergency access"
    elif req.mode == "bris-de-glace":
        # ACC-6 (seed 001 "saisit le motif justifiant l'urgence"): reason required,
        # "other pros" switch on (on by default, seed 001 §3.4 "A défaut ...").
        if req.reason is None or not req.reason.strip():
            return "ACC-6: bris-de-glace needs a justification"
        if not world.emergency_others:
            return "ACC-6: the patient refused bris-de-glace emergency access"
    elif not (actor.authorised or actor.declares_consent or extended):
        # ACC-2 (seed 001 "déclarer (en cochant une case dédiée) avoir obtenu le
        # consentement"; "membre de l'équipe de soin ... consentement présumé").
        return "ACC-2: pro neither in the care team nor declaring consent"
    return None


def _decide_pro(world: OWorld, actor: OActor, doc: ODocument, req: ORequest) -> Verdict:
    codes = doc.confidentiality
    # ID-5 (seed 002 "La consultation du DMP nécessite une carte de professionnel de
    # santé (CPS)"; seed 004 "CPS ... ou e-CPS"): a CPE may upload only.
    if actor.level == "cpe":
        return _deny("ID-5: a CPE (establishment card) may upload, never read")
    # ACC-3 (seed 001 "bloquer l'accès ... y compris pour les accès en cas d'urgence";
    # seed 000 "l'accès à l'ensemble des données"): beats authorship and emergencies.
    if actor.blocked:
        return _deny("ACC-3: the patient blocked this pro; he reads nothing")
    # DOC-5 (seed 001 "auteur du document peut toujours consulter le document qu'il a
    # alimenté"): "toujours" read as: whatever the mode, consent, matrix or masking.
    if doc.actor_is_author:
        return _allow("DOC-5: a pro always sees the documents he authored")
    refusal = pro_access_refusal(world, actor, req)
    if refusal is not None:
        return _deny(refusal)
    extended = actor.administrator or actor.medecin_traitant
    emergency = req.mode != "normal"
    # ACC-1 (seeds 000 q.5, 004): the matrix binds every pro, emergencies and
    # administrators included ("tous les droits d'accès dus à sa profession", seed 000);
    # the médecin traitant's "droits élargis" are the administrator's (seed 001 §3.3).
    if not doc.habilitation_allows:
        return _deny("ACC-1: the habilitation matrix forbids this document type")
    if "MASQUE_PS" in codes:
        # DOC-4, ACC-4, ACC-5: masked documents stay visible to the administrators and
        # the médecin traitant, in any mode.
        if extended:
            return _allow("DOC-4/ACC-4/ACC-5: administrator or médecin traitant")
        # ACC-6 + REFERENCE "MASKED" (off by default; seed 001 "masquer ... y compris
        # en cas d'urgence"): an emergency read sees masked documents only if allowed.
        if emergency and world.emergency_masked:
            return _allow("ACC-6: emergency access allowed to see masked documents")
        return _deny("DOC-4: the patient masked this document from pros")
    # DOC-3 (seed 001 q.4 "les autres professionnels pourront voir les informations
    # invisibles aux représentants légaux"): INVISIBLE_* codes do not concern pros.
    if emergency:
        return _allow(f"ACC-6: emergency access ({req.mode})")
    return _allow("ACC-2/ACC-1: authorised pro, document allowed by the matrix")


def patient_side_refusal(world: OWorld, actor: OActor) -> str | None:
    """Why this patient-side actor may not use the space as the patient would, or None.

    The request's mode does not matter on the patient side."""
    minor = world.patient_age < MAJORITY_AGE
    if actor.kind == "guardian_of_property":
        # LC-8 (seed 001 §4.2 "protection aux biens ... ne peut pas agir").
        return "LC-8: a guardian of property only may not act on the space"
    if actor.kind == "patient" and minor:
        # Seed 001 §4.1 "Les accès au profil ... d'un mineur sont réservés à ses
        # représentants légaux" (and "Les accès à Mon espace santé sont réservés aux
        # représentants légaux"): the minor finds everything at 18 (LC-7).
        return "LC-7 (seed 001 §4.1): a minor's space is reserved to his reps"
    if actor.kind == "legal_representative":
        # LC-7, ACC-8: only a representative of THIS patient, and only before 18.
        if not actor.represents_patient:
            return "LC-7/ACC-9: not a legal representative of this patient"
        if not minor:
            return "LC-7: at 18 the legal representatives lose access"
    if actor.kind == "guardian_of_person":
        # LC-8 (seed 001 §4.2; "l'activer et s'y connecter"): the mandate of the
        # person lets him act on the space, read as acting as the patient would.
        # A minor's space is reserved to his legal representatives (seed 001 §4.1).
        if not actor.represents_patient:
            return "LC-8/ACC-9: no mandate of protection for this patient"
        if minor:
            return "LC-7 (seed 001 §4.1): minors are the reps' business"
    # LC-3 (seed 001 table "Pour les consulter, l'utilisateur doit activer son
    # compte"; "Un compte activé ... peut alors commencer à utiliser les fonctionnalités
    # ... comme le profil médical"): every patient-side actor needs an activated profile.
    if world.profile_state != "activated":
        return "LC-3: using the space (reading, filling in) needs an activated profile"
    return None


def _decide_patient_side(world: OWorld, actor: OActor, doc: ODocument) -> Verdict:
    """Patient, legal representative, guardian: what the space shows (mode ignored)."""
    codes = doc.confidentiality
    refusal = patient_side_refusal(world, actor)
    if refusal is not None:
        return _deny(refusal)
    # DOC-3 (seed 001 "temporairement inaccessible au patient"); ACC-8 and LC-8 read
    # as "sees as the patient would", so the code hides from representatives and
    # guardians too.  DOC-5 is about pros: authorship does not lift it.
    if "INVISIBLE_PATIENT" in codes:
        return _deny("DOC-3: document made invisible to the patient")
    if actor.kind == "legal_representative" and "INVISIBLE_REPRESENTANTS_LEGAUX" in codes:
        # DOC-3, ACC-8 (seeds 000 q.8, 001 §4.1).
        return _deny("ACC-8: document made invisible to the legal representatives")
    # DOC-4: masking (MASQUE_PS) is from pros; the patient side still sees it.
    return _allow(f"ACC-8/DOC-4: {actor.kind} sees the space as the patient would")


def _decide(world: OWorld, actor: OActor, doc: ODocument, req: ORequest) -> Verdict:
    refusal = record_refusal(world, actor)
    if refusal is not None:
        return _deny(refusal)
    # DOC-6: a deleted document is no longer listed; a superseded one reads as current,
    # and so does an archived one ("still current, out of default lists").
    if doc.status == "deleted":
        return _deny("DOC-6: the document was (logically) deleted")
    if actor.kind == "pro":
        # LC-3 restricts the patient only: pros read a created profile (LC-1, DOC-1).
        return _decide_pro(world, actor, doc, req)
    return _decide_patient_side(world, actor, doc)


def oracle_may_read(world: OWorld, actor: OActor, doc: ODocument, request: ORequest) -> bool:
    """True when the texts let `actor` read `doc` in `world` with `request`."""
    return _decide(world, actor, doc, request)[0]


def oracle_explain(world: OWorld, actor: OActor, doc: ODocument, request: ORequest) -> str:
    """The verdict and the rule ID that decided it, for mismatch reports."""
    allowed, why = _decide(world, actor, doc, request)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"


def _authorisation(world: OWorld, actor: OActor) -> tuple[AuthorisationStatus, str]:
    if actor.kind != "pro":
        return ("NON_EXISTE", "ACC-2/ACC-9: only pros are on the list of authorised pros")
    if world.profile_state == "opposed":
        return ("NON_EXISTE", "LC-2: an opposed patient has no profile, hence no list")
    if actor.blocked:
        # ACC-3; INTERFACES.md "INTERDIT for a blocked pro"; beats every other fact.
        return ("INTERDIT", "ACC-3: the patient blocked this pro")
    if actor.authorised or actor.declares_consent:
        # ACC-2: on the list (care team, or a first reading after declaring consent);
        # declaring consent is what adds the authorisation (DMP EX_0.3-1010 "AJOUT").
        return ("VALIDE", "ACC-2: on the list of authorised pros, or declaring consent")
    if actor.administrator or actor.medecin_traitant:
        # ACC-4 (seed 001 "doit s'être connecté au moins une fois"), ACC-5 (care team).
        return ("VALIDE", "ACC-4/ACC-5: administrator or médecin traitant")
    if actor.formerly_authorised:
        # ACC-3 (seed 001 "Un professionnel de santé débloqué pourra à nouveau être dans
        # ma liste des autorisés, si je lui donne l'autorisation lors d'une consultation").
        return ("EXPIRE", "ACC-3: authorised once, no longer; consent must be renewed")
    return ("NON_EXISTE", "ACC-2: never authorised on this record")


def oracle_authorisation_status(world: OWorld, actor: OActor) -> AuthorisationStatus:
    """The pro's authorisation status on this record, as DMP TD0.2 answers it.

    TD0.2 is the DMP's « Test d'existence d'un DMP et vérification de l'autorisation »
    (DMP-compatibility requirement EX_GEN-1270, as published in the DevBox-Santé
    homologation tracker: https://bitbucket.org/devbox-sante/homologation/issues/17).
    The values come from INTERFACES.md: `VALIDE`, `NON_EXISTE`, `INTERDIT` for a
    blocked pro, `EXPIRE`. What the public requirements say of them:
    - EX_0.3-1010 (issues/35): « Si l'autorisation d'accès en consultation du DMP d'un
      patient à un acteur de santé n'est pas définie ou si elle est expirée ... et que
      le patient consent ..., le LPS alimente automatiquement la donnée action avec la
      valeur AJOUT »: NON_EXISTE and EXPIRE both lead to a new declaration of consent,
      which adds the authorisation (so `declares_consent` counts as VALIDE here).
    - EX_0.3-1020 (issues/122): « si le statut renvoyé par le DMP est « autorisation
      expirée », le LPS doit indiquer à l'utilisateur qu'il doit effectuer une nouvelle
      autorisation »: EXPIRE is an authorisation that existed and no longer holds.
    Not found: the DMP integration guide's own definition of when an authorisation
    expires. Our reading, from what the texts support: EXPIRE is the status of a pro who
    was on the list and left it without being blocked now — the one way the seeds name
    is ACC-3's unblocking (seed 001 « Un professionnel de santé débloqué pourra à
    nouveau être dans ma liste des autorisés, si je lui donne l'autorisation lors d'une
    consultation »): `formerly_authorised` and neither blocked nor authorised again.
    The status describes the pro's standing, not the request: the mode (emergencies),
    the card (CPS/CPE) and the matrix do not change it. A closed profile keeps its
    standing (archived, restored on reopening, LC-5; the Patient's `active` tells the
    closure); an opposed patient has no profile, so nothing exists (INTERFACES answers
    no Patient at all there; NON_EXISTE is given for completeness). Non-pros: NON_EXISTE.
    """
    return _authorisation(world, actor)[0]


def oracle_explain_authorisation_status(world: OWorld, actor: OActor) -> str:
    """The TD0.2 status and the rule that decided it, for mismatch reports."""
    status, why = _authorisation(world, actor)
    return f"{status} — {why}"
