"""Who is who in the demo, and how to get a token for each."""

from __future__ import annotations

from collections.abc import Callable

from carnet.demo import personas as p
from carnet.demo.load import DEMO_PASSWORD, DemoResult


def print_guide(
    result: DemoResult, echo: Callable[[str], None], base_url: str = "http://127.0.0.1:8000"
) -> None:
    base = base_url.rstrip("/")
    echo("Population de démonstration chargée / demo population loaded.\n")
    echo("Dans le navigateur / in the browser:")
    echo(f"  {base}/demo   patients (connexion en un clic / one-click log-in)")
    echo(f"  {base}/pro/   professionnels (choix du professionnel / pick a professional)\n")
    echo(f"Patients (mot de passe des profils activés : {DEMO_PASSWORD}) :")
    for person in p.PATIENTS:
        state = (
            "opposé"
            if person.opposed
            else "clôturé"
            if person.closed
            else "activé"
            if person.activated
            else "créé (code : " + result.letters[person.ins].code + ")"
        )
        echo(
            f"  {person.first_names} {person.birth_names:<10} {person.ins}  {person.role} — {state}"
        )
        echo(f"      carnet token patient --ins {person.ins}")
    echo("\nProfessionnels :")
    for pro in p.PROS:
        spec = f" --specialty {pro.specialty}" if pro.specialty else ""
        echo(
            f"  {pro.civility} {pro.first_name} {pro.last_name} ({pro.role}), RPPS {pro.rpps}, BAL {pro.mailbox}"
        )
        echo(f"      carnet token pro --rpps {pro.rpps} --profession {pro.profession}{spec}")
    echo(f"\n{result.extra_patients} patients synthétiques supplémentaires.")
