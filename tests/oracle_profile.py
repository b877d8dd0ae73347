"""Independent test oracle: the medical profile's sections and reimbursement lines.

Written, like `oracle.py` whose facts and gates it reuses, ONLY from spec/RULES.md
(PRF-1, PRF-2, ACC-7, DOC-1, DOC-9), spec/INTERFACES.md and the French seeds, never from
carnet/. Where a seed and RULES.md disagree the seed wins.

Readings that are judgment calls, each repeated where it decides:
- Pros (authorised, administrators and the médecin traitant alike) read only the three
  sections ACC-7 names; the others reach them only as a document the patient adds
  (seed 004 « son profil médical s'il l'a ajouté comme document »).
- An emergency access that ACC-6 lets through reads those three sections too (seed 001
  « accéder aux données de santé en cas d'urgence »); the habilitation matrix, made of
  document types (ACC-1), does not apply to sections.
- Writing: the patient side fills in every section but the reimbursed care; the
  operator feeds the reimbursed care and the vaccinations; pros write documents
  (DOC-1), never sections.
- DOC-9: seed 001 is stronger than RULES.md — the reimbursement data of the acts a minor
  may keep secret are never brought into the record at all, so no reader is shown them.
"""

from dataclasses import dataclass
from typing import Literal

from oracle import (
    NORMAL,
    OActor,
    ORequest,
    OWorld,
    Verdict,
    patient_side_refusal,
    pro_access_refusal,
    record_refusal,
)

Section = Literal[
    "treatments",
    "allergies",
    "history",  # antécédents personnels et familiaux
    "conditions",
    "measures",
    "vaccinations",
    "reimbursed_care",  # historique de soins (remboursés)
    "entourage_and_wishes",  # personne de confiance, proches, directives anticipées
]
SECTIONS: tuple[Section, ...] = (
    "treatments",
    "allergies",
    "history",
    "conditions",
    "measures",
    "vaccinations",
    "reimbursed_care",
    "entourage_and_wishes",
)
# ACC-7 (seed 001 « mes rubriques Vaccinations, Historique de soins, Entourage et
# volontés du Profil médical »; seed 004 « accéder aux vaccinations, à l'historique des
# soins remboursés et ... à ses directives anticipées »).
PRO_SECTIONS: frozenset[Section] = frozenset(
    {"vaccinations", "reimbursed_care", "entourage_and_wishes"}
)
# DOC-1's last sentence (seed 004 « l'Assurance Maladie qui verse automatiquement
# l'historique des soins remboursés et les attestations de vaccination COVID »).
OPERATOR_SECTIONS: frozenset[Section] = frozenset({"vaccinations", "reimbursed_care"})

# What a reimbursement line is for. Seeds: 000 q.8 « prescription de contraception,
# IVGM »; 001 « IVG ... pilule du lendemain, etc. », « à la demande du mineur ».
ReimbursedAct = Literal[
    "abortion",  # IVG, IVG médicamenteuse
    "contraception",  # prescription de contraception
    "emergency_contraception",  # pilule du lendemain
    "other_minor_secret",  # the seeds' « etc. »: any act the minor keeps secret
    "ordinary",
]


@dataclass(frozen=True)
class OReimbursementLine:
    act: ReimbursedAct
    minor_at_act: bool  # the patient was under 18 on the day of the act


def _deny(why: str) -> Verdict:
    return (False, why)


def _allow(why: str) -> Verdict:
    return (True, why)


def _read(world: OWorld, actor: OActor, section: Section, req: ORequest) -> Verdict:
    refusal = record_refusal(world, actor)
    if refusal is not None:
        # ACC-9 (the operator feeds, never reads back: seed 001 q.1 « Aucun autre acteur
        # (... Assurance Maladie ...) »); LC-5 (seed 001 §5 « les données relatives à
        # votre profil médical, vos mesures de santé ... sont immédiatement supprimées »).
        return _deny(refusal)
    if actor.kind == "pro":
        if actor.level == "cpe":
            return _deny("ID-5: a CPE (establishment card) may upload, never read")
        if actor.blocked:
            # ACC-3 (seed 000 q.9 « bloquer l'accès à l'ensemble des données »).
            return _deny("ACC-3: the patient blocked this pro; he reads nothing")
        refusal = pro_access_refusal(world, actor, req)
        if refusal is not None:
            return _deny(refusal)
        if section not in PRO_SECTIONS:
            # ACC-7 (seed 001 « j'ai autorisé les professionnels ... à accéder à : mes
            # Documents ; mes rubriques Vaccinations, Historique de soins, Entourage et
            # volontés »; seed 004 « son profil médical s'il l'a ajouté comme document »).
            # The administrator has « tous les droits d'accès dus à sa profession » plus
            # masked documents and the history (seed 000 q.10), no other section; the
            # médecin traitant has the administrator's rights (ACC-5, seed 001 §3.3).
            return _deny(f"ACC-7: pros do not read the {section} section")
        if req.mode != "normal":
            return _allow(f"ACC-6/ACC-7: emergency access ({req.mode}) to {section}")
        return _allow(f"ACC-7: authorised pros see the {section} section")
    refusal = patient_side_refusal(world, actor)
    if refusal is not None:
        return _deny(refusal)
    # PRF-1, ACC-8, LC-8: the patient side reads the whole profile as the patient would;
    # DOC-9 filters the reimbursement lines (`oracle_reimbursement_line_shown`).
    return _allow(f"PRF-1/ACC-8: {actor.kind} reads the {section} section")


def _write(world: OWorld, actor: OActor, section: Section) -> Verdict:
    if world.profile_state in ("opposed", "closed"):
        # DOC-1 (uploading into an opposed or closed profile is refused); LC-5 (the
        # medical profile is deleted at closing).
        return _deny(f"DOC-1/LC-5: the profile is {world.profile_state}; nothing is written")
    if actor.kind == "operator":
        if section in OPERATOR_SECTIONS:
            # DOC-1 (seed 004 « l'Assurance Maladie qui verse automatiquement ... »);
            # LC-3: a created profile receives what is fed into it.
            return _allow(f"DOC-1: the operator feeds the {section} section")
        return _deny(f"DOC-1/PRF-2: the operator does not write the {section} section")
    if actor.kind == "third_party":
        return _deny("ACC-9: no one else writes into the record")
    if actor.kind == "pro":
        # DOC-1: pros upload documents, classed by category (seed 000 q.7 « classés
        # automatiquement ... dans les « Documents de santé » et « Profil médical » »);
        # INTERFACES: « the patient writes his own with a patient token ».
        return _deny("DOC-1/PRF-2: pros upload documents; they do not write sections")
    refusal = patient_side_refusal(world, actor)
    if refusal is not None:
        return _deny(refusal)
    if section == "reimbursed_care":
        # DOC-1: the history of reimbursed care is the operator's record of what was
        # reimbursed (seed 004 « verse automatiquement »); nobody else writes it.
        return _deny("DOC-1: only the operator feeds the reimbursed care")
    # PRF-2 (seed 004 « le patient, qui peut renseigner son profil médical »; seed 001
    # §2.1 « renseigner votre personne de confiance », « rédiger [les directives] en
    # ligne »); LC-7 (the representatives manage a minor's profile); LC-8.
    return _allow(f"PRF-2: {actor.kind} fills in the {section} section")


def _line(world: OWorld, reader: OActor, line: OReimbursementLine, req: ORequest) -> Verdict:
    allowed, why = _read(world, reader, "reimbursed_care", req)
    if not allowed:
        return _deny(why)
    if line.minor_at_act and line.act != "ordinary":
        # DOC-9. Seed 001 (guide) « aucune donnée de remboursement relatif à certains
        # actes (IVG, etc) ne sont remontée dans le DMP via l'utilisation d'un NIR » and
        # §4.1 « aucune donnée de remboursement n'est remontée dans le dossier médical »:
        # the seed keeps such lines out of the record altogether, so beyond RULES.md's
        # "representatives" no reader — pro, the patient after 18 — is shown one.
        return _deny(f"DOC-9: reimbursement of a minor's secret act ({line.act})")
    return _allow(f"ACC-7/PRF-1: {reader.kind} sees this reimbursement line")


def oracle_may_read_section(
    world: OWorld, actor: OActor, section: Section, request: ORequest
) -> bool:
    """True when the texts let `actor` read that section of the medical profile."""
    return _read(world, actor, section, request)[0]


def oracle_explain_section(
    world: OWorld, actor: OActor, section: Section, request: ORequest
) -> str:
    allowed, why = _read(world, actor, section, request)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"


def oracle_may_write_section(world: OWorld, actor: OActor, section: Section) -> bool:
    """True when the texts let `actor` fill in that section (PRF-2, DOC-1)."""
    return _write(world, actor, section)[0]


def oracle_explain_section_write(world: OWorld, actor: OActor, section: Section) -> str:
    allowed, why = _write(world, actor, section)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"


def oracle_reimbursement_line_shown(
    world: OWorld, reader: OActor, line: OReimbursementLine, request: ORequest = NORMAL
) -> bool:
    """True when that line of the reimbursed care is shown to `reader` (DOC-9)."""
    return _line(world, reader, line, request)[0]


def oracle_explain_reimbursement_line(
    world: OWorld, reader: OActor, line: OReimbursementLine, request: ORequest = NORMAL
) -> str:
    allowed, why = _line(world, reader, line, request)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"
