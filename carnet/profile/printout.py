"""The profile's summary on paper: a dated PDF of what its reader may see, in French, with a QR
code holding the essentials as text — allergies, treatments, conditions, the trusted person —
readable by any phone without a network (a first step toward an emergency summary), and the
summary's FHIR form (the IPS Bundle) embedded as ``ips.json``."""

from __future__ import annotations

import segno

from carnet.access.rules import Section
from carnet.profile import catalog
from carnet.profile.pdf import HEIGHT, MARGIN, WIDTH, Document
from carnet.profile.views import EntryView, Summary

TITLES = {
    Section.TREATMENTS: "Traitements",
    Section.ALLERGIES: "Allergies et intolérances",
    Section.HISTORY: "Antécédents personnels et familiaux",
    Section.CONDITIONS: "Problèmes de santé",
    Section.MEASURES: "Mesures",
    Section.VACCINATIONS: "Vaccinations",
    Section.REIMBURSED_CARE: "Historique de soins",
    Section.ENTOURAGE: "Entourage et volontés",
}
QR_TEXT_MAX = 1200
CARE_LINES_SHOWN = 30


def _fr(table: dict[str, tuple[str, str]], code: str | None) -> str:
    return table[code][0] if code and code in table else ""


def entry_line(e: EntryView) -> str:
    """One line of a section, in French."""
    parts = [e.label]
    if e.section is Section.ALLERGIES:
        extra = [_fr(catalog.ALLERGY_TYPES, e.kind), _fr(catalog.ALLERGY_CATEGORIES, e.category)]
        if e.criticality:
            extra.append("gravité " + _fr(catalog.CRITICALITIES, e.criticality).lower())
        parts.append("(" + ", ".join(x for x in extra if x) + ")")
    elif e.section is Section.HISTORY and e.kind == "family":
        parts.insert(0, _fr(catalog.RELATIONSHIPS, e.relation) + " :")
    elif e.section is Section.TREATMENTS:
        parts.append(f"({_fr(catalog.TREATMENT_STATUSES, e.status).lower()})")
    elif e.section is Section.CONDITIONS:
        parts.append(f"({_fr(catalog.CONDITION_STATUSES, e.status).lower()})")
    if e.start_date:
        parts.append(f"depuis le {e.start_date:%d/%m/%Y}")
    if e.detail:
        parts.append("— " + e.detail)
    return " ".join(p for p in parts if p)


def _section_lines(summary: Summary, section: Section) -> list[str]:
    if section in summary.entries:
        return [entry_line(e) for e in summary.entries[section]]
    if section is Section.MEASURES:
        lines = []
        for s in summary.series:
            last = s.last
            if last is None:
                continue
            value = f"{last.value:g}" + (f"/{last.value2:g}" if last.value2 is not None else "")
            normal = (
                f" (habituel : {s.kind.low:g}–{s.kind.high:g})"
                if s.kind.low is not None and s.kind.high is not None
                else ""
            )
            lines.append(f"{s.kind.label_fr} : {value} {s.kind.unit} le {last.at:%d/%m/%Y}{normal}")
        return lines
    if section is Section.VACCINATIONS and summary.vaccinations is not None:
        given = [
            f"{v.given_on:%d/%m/%Y} — {v.vaccine.label_fr}"
            + (f" (dose {v.dose})" if v.dose else "")
            for v in summary.vaccinations.given
        ]
        due = [
            f"À venir : {catalog.SERIES[n.series][0]}, {n.dose.label_fr.lower()} — "
            f"{'en retard depuis' if n.overdue else 'prévue le'} {n.due_on:%d/%m/%Y}"
            for n in summary.vaccinations.next_doses[:6]
        ]
        return given + due
    if section is Section.REIMBURSED_CARE:
        return [
            f"{c.care_date:%d/%m/%Y} — {c.act.label_fr} — {c.label}"
            for c in summary.care[:CARE_LINES_SHOWN]
        ]
    if section is Section.ENTOURAGE and summary.entourage is not None:
        lines = [
            f"{c.role_label[0]} : {c.first_names} {c.last_name} ({c.relationship_label[0].lower()})"
            + (f", {c.phone}" if c.phone else "")
            for c in summary.entourage.contacts
        ]
        lines += [
            f"Directives anticipées du {d.written_on:%d/%m/%Y}"
            + (" (formulaire en ligne)" if d.kind == "form" else " (PDF déposé)")
            for d in summary.entourage.directives
        ]
        return lines
    return []


def emergency_text(summary: Summary) -> str:
    """What the QR code holds: the essentials a carer needs first, as plain text."""
    p = summary.patient
    lines = [f"{p.first_names} {p.birth_names}, né(e) le {p.birth_date:%d/%m/%Y}, INS {p.ins}"]
    for section in (Section.ALLERGIES, Section.TREATMENTS, Section.CONDITIONS):
        if summary.entries.get(section):
            shown = "; ".join(e.label for e in summary.entries[section][:8])
            lines.append(f"{TITLES[section]} : {shown}")
    if summary.entourage is not None:
        trusted = summary.entourage.trusted_person
        if trusted is not None:
            lines.append(
                f"Personne de confiance : {trusted.first_names} {trusted.last_name}"
                + (f" {trusted.phone}" if trusted.phone else "")
            )
        if summary.entourage.directives:
            lines.append("Directives anticipées : oui (voir le dossier)")
    lines.append(f"Synthèse du {summary.made_at:%d/%m/%Y}")
    text = "\n".join(lines)
    return text if len(text) <= QR_TEXT_MAX else text[: QR_TEXT_MAX - 1] + "…"


def summary_pdf(summary: Summary, fhir_json: bytes) -> bytes:
    """The dated summary as a PDF, its QR code, and its FHIR form embedded."""
    p = summary.patient
    doc = Document()
    qr = segno.make(emergency_text(summary), error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    size = 150.0
    cell = size / len(matrix)
    doc.squares(WIDTH - MARGIN - size, HEIGHT - MARGIN, cell, matrix)
    doc.indent = 0
    doc.text("Synthèse du profil médical", 18, bold=True, gap=6)
    doc.text(f"{p.first_names} {p.birth_names}", 12, bold=True, gap=6)
    doc.text(f"Né(e) le {p.birth_date:%d/%m/%Y} — INS {p.ins}", 10)
    doc.text(f"Établie le {summary.made_at:%d/%m/%Y à %H:%M} (UTC)", 10)
    doc.space(4)
    for line in (
        "Le code QR ci-contre contient l'essentiel",
        "(allergies, traitements, personne de confiance),",
        "lisible sans réseau.",
    ):
        doc.text(line, 8)
    doc.y = min(doc.y, HEIGHT - MARGIN - size - 12)
    for section in Section:
        doc.space(8)
        doc.text(TITLES[section], 13, bold=True, gap=4)
        if section not in summary.sections:
            doc.text("Rubrique non communiquée à ce lecteur.", 10)
            continue
        lines = _section_lines(summary, section)
        for line in lines or ["Rien de renseigné."]:
            doc.text("- " + line, 10)
    doc.space(12)
    doc.text(
        "Document produit par Carnet d'après le profil médical tenu par le patient : les "
        "informations qu'il a saisies n'ont pas été vérifiées par un professionnel. Sa forme "
        "FHIR (International Patient Summary) est jointe à ce fichier : ips.json.",
        8,
    )
    doc.attach("ips.json", "application/fhir+json", fhir_json)
    return doc.render(f"Synthèse du profil médical — {p.first_names} {p.birth_names}")
