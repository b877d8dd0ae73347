"""The named personas: the same people seed the demo and the tests (tests/personas.py).

Identifiers use the demonstration INS system; NIRs are synthetic, their keys computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from carnet.identity.ins import make_ins
from carnet.identity.traits import normalize_name


@dataclass(frozen=True)
class PatientPersona:
    key: str
    role: str
    ins: str
    birth_names: str
    first_names: str
    sex: str
    birth_date: date
    birth_place: str
    email: str | None
    legal_representatives: tuple[str, ...] = ()
    guardian: tuple[str, str] | None = None
    opposed: bool = False
    activated: bool = True
    closed: bool = False


@dataclass(frozen=True)
class ProPersona:
    key: str
    role: str
    rpps: str
    civility: str
    first_name: str
    last_name: str
    profession: str
    specialty: str | None
    finess: str | None = None
    samu_regulator: bool = False

    @property
    def mailbox(self) -> str:
        local = normalize_name(f"{self.first_name}.{self.last_name}").lower().replace(" ", "-")
        return f"{local}@{_domain(self.profession)}"


def _domain(profession: str) -> str:
    return {"21": "pharmacien.mssante.fr", "60": "infirmier.mssante.fr"}.get(
        profession, "medecin.mssante.fr"
    )


def _ins(sex: str, year: int, month: int, dept: str, commune: str, order: int) -> str:
    nir = f"{1 if sex == 'M' else 2}{year % 100:02d}{month:02d}{dept}{commune}{order:03d}"
    return make_ins(nir)


def _place(dept: str, commune: str) -> str:
    return f"{dept}{commune}"


# dept, commune
PARIS = ("75", "056")
LYON = ("69", "123")
AJACCIO = ("2A", "004")
BASTIA = ("2B", "033")

CLAIRE = PatientPersona(
    "claire",
    "adulte (la patiente principale)",
    _ins("F", 1985, 4, *PARIS, 12),
    "MARTIN",
    "Claire Anne",
    "F",
    date(1985, 4, 12),
    _place(*PARIS),
    "claire@example.org",
)
PAUL = PatientPersona(
    "paul",
    "parent (père de Léa et Hugo)",
    _ins("M", 1982, 9, *LYON, 34),
    "DUBOIS",
    "Paul",
    "M",
    date(1982, 9, 3),
    _place(*LYON),
    "paul@example.org",
)
SOPHIE = PatientPersona(
    "sophie",
    "parent (mère de Léa et Hugo)",
    _ins("F", 1984, 1, *LYON, 35),
    "LEROY",
    "Sophie",
    "F",
    date(1984, 1, 22),
    _place(*LYON),
    "sophie@example.org",
)
LEA = PatientPersona(
    "lea",
    "mineure de 15 ans",
    _ins("F", 2011, 6, *LYON, 36),
    "DUBOIS",
    "Léa",
    "F",
    date(2011, 6, 1),
    _place(*LYON),
    None,
    legal_representatives=(PAUL.ins, SOPHIE.ins),
)
HUGO = PatientPersona(
    "hugo",
    "nouveau-né",
    _ins("M", 2026, 10, *LYON, 37),
    "DUBOIS",
    "Hugo",
    "M",
    date(2026, 10, 2),
    _place(*LYON),
    None,
    legal_representatives=(PAUL.ins, SOPHIE.ins),
)
JEAN = PatientPersona(
    "jean",
    "tuteur (à la personne) de Marcel, curateur (aux biens) d'Odette",
    _ins("M", 1960, 2, *AJACCIO, 5),
    "CASANOVA",
    "Jean",
    "M",
    date(1960, 2, 14),
    _place(*AJACCIO),
    "jean@example.org",
)
MARCEL = PatientPersona(
    "marcel",
    "majeur protégé (tutelle à la personne)",
    _ins("M", 1941, 11, *BASTIA, 7),
    "ORSINI",
    "Marcel",
    "M",
    date(1941, 11, 30),
    _place(*BASTIA),
    None,
    guardian=(JEAN.ins, "person"),
)
ODETTE = PatientPersona(
    "odette",
    "majeure protégée (protection aux biens)",
    _ins("F", 1939, 3, *BASTIA, 8),
    "ORSINI",
    "Odette",
    "F",
    date(1939, 3, 8),
    _place(*BASTIA),
    "odette@example.org",
    guardian=(JEAN.ins, "property"),
)
NADIA = PatientPersona(
    "nadia",
    "profil créé, pas encore activé",
    _ins("F", 1990, 7, *PARIS, 41),
    "BENALI",
    "Nadia",
    "F",
    date(1990, 7, 19),
    _place(*PARIS),
    "nadia@example.org",
    activated=False,
)
OSCAR = PatientPersona(
    "oscar",
    "opposé (pas de profil)",
    _ins("M", 1975, 5, *PARIS, 42),
    "PETIT",
    "Oscar",
    "M",
    date(1975, 5, 5),
    _place(*PARIS),
    None,
    opposed=True,
    activated=False,
)
CHLOE = PatientPersona(
    "chloe",
    "profil clôturé",
    _ins("F", 1970, 12, *PARIS, 43),
    "ROUX",
    "Chloé",
    "F",
    date(1970, 12, 24),
    _place(*PARIS),
    "chloe@example.org",
    closed=True,
)

PATIENTS = (CLAIRE, PAUL, SOPHIE, LEA, HUGO, JEAN, MARCEL, ODETTE, NADIA, OSCAR, CHLOE)

PHARMACY_FINESS = "750012345"
HOSPITAL_FINESS = "690781810"
SAMU_FINESS = "750100018"

DR_MARTIN = ProPersona(
    "generaliste",
    "médecin généraliste (médecin traitant de Claire)",
    "10000000001",
    "Dr",
    "Louis",
    "Bernard",
    "10",
    "SM26",
)
DR_COEUR = ProPersona(
    "cardiologue",
    "cardiologue",
    "10000000002",
    "Dr",
    "Inès",
    "Moreau",
    "10",
    "SM04",
    HOSPITAL_FINESS,
)
PHARMACIEN = ProPersona(
    "pharmacien",
    "pharmacien d'officine",
    "10000000003",
    "M.",
    "Karim",
    "Haddad",
    "21",
    None,
    PHARMACY_FINESS,
)
DENTISTE = ProPersona(
    "dentiste", "chirurgien-dentiste", "10000000004", "Dr", "Marc", "Lefèvre", "40", None
)
SAGE_FEMME = ProPersona(
    "sage-femme", "sage-femme", "10000000005", "Mme", "Julie", "Garnier", "50", None
)
INFIRMIER = ProPersona(
    "infirmier", "infirmier", "10000000006", "M.", "Thomas", "Girard", "60", None
)
KINE = ProPersona(
    "kine", "masseur-kinésithérapeute", "10000000007", "Mme", "Emma", "Fontaine", "70", None
)
PODOLOGUE = ProPersona(
    "podologue", "pédicure-podologue", "10000000008", "M.", "Hugo", "Chevalier", "80", None
)
REGULATEUR = ProPersona(
    "samu",
    "médecin régulateur du SAMU-Centre 15",
    "10000000009",
    "Dr",
    "Anne",
    "Mercier",
    "10",
    "SM26",
    SAMU_FINESS,
    samu_regulator=True,
)
BLOQUE = ProPersona(
    "bloque", "médecin bloqué par Claire", "10000000010", "Dr", "Victor", "Lambert", "10", "SM26"
)

PROS = (
    DR_MARTIN,
    DR_COEUR,
    PHARMACIEN,
    DENTISTE,
    SAGE_FEMME,
    INFIRMIER,
    KINE,
    PODOLOGUE,
    REGULATEUR,
    BLOQUE,
)

ESTABLISHMENTS = (
    (
        PHARMACY_FINESS,
        "Pharmacie de la Gare",
        "pharmacy",
        "Paris",
        "75010",
        "pharmacie.gare@pharmacie.mssante.fr",
    ),
    (
        HOSPITAL_FINESS,
        "Hôpital Édouard-Herriot",
        "hospital",
        "Lyon",
        "69003",
        "resultats@chu-lyon.mssante.fr",
    ),
    (SAMU_FINESS, "SAMU de Paris", "samu", "Paris", "75015", None),
)
