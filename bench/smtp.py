"""Messages accepted per second by the SMTP door (MSG-1, "250 only once durable"), 20 clients.

Ours: the whole path of a message from a pro's MSSanté server — the SMTP door (aiosmtpd), the
sender's trust check at MAIL FROM, the recipient's at RCPT TO, then ``receive_message``: MIME
parsing, the raw message sealed (in its row up to 64 KB, else a fsync'd blob), the conversation,
message, notification and trace rows committed (SQLite, synchronous=FULL; or a fresh database on
the PostgreSQL server ``--database URL`` names, issue 18) — before the 250. Baseline: a bare
aiosmtpd sink that only writes each message to a file of its own and fsyncs it before its 250. Both
run side by side in this process, each in a thread with its own event loop, fed in alternating
rounds by the same client: 20 concurrent connections (aiosmtplib) in another process, so that the
clients' CPU is not the servers'. Each connection writes to its own patient (20 patients, as 20
practices' servers would), so the door's short memories (the sender's directory entry, the patient
an address named at RCPT TO, the patient's key) serve after the first messages. The baseline's
fsync runs in its event loop, as a bare handler's would; ours overlap (threads) and share commits
(``messaging.batching``). The CPU each side spends per message is printed too: it does not depend
on how busy the disk is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from _common import (
    Result,
    a_pro,
    activated_patient,
    database_label,
    database_on,
    finish,
    mail,
    options,
    print_header,
    runtime_in,
    temporary_folder,
)

if TYPE_CHECKING:
    from carnet.runtime import Runtime

CLIENTS = 20
MESSAGES_FULL = 1000
MESSAGES_QUICK = 200
ROUNDS_FULL = 4
ROUNDS_QUICK = 2
TARGET = 0.6  # ours ≥ 0.6 × the bare sink's messages/s
BODY = (
    "Bonjour Madame,\n\nVoici le compte rendu de votre consultation du 3 novembre. "
    "Les résultats de la prise de sang sont normaux; nous referons un bilan dans six mois.\n\n"
    "Bien cordialement,\nDr Bernard\n"
) * 4


# --------------------------------------------------------------------------------------------
# The client side (run as a child process: ``bench/smtp.py --client PORT N SENDER RCPT…``)
# --------------------------------------------------------------------------------------------


def message(sender: str, recipient: str, number: int) -> bytes:
    return mail(
        sender, recipient, f"Compte rendu {number}", f"bench-{os.getpid()}-{number}@bench", BODY
    )


async def client_side(port: int, total: int, sender: str, recipients: list[str]) -> float:
    import aiosmtplib

    counter = iter(range(total))

    async def one_connection(index: int) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await smtp.connect()
        try:
            for number in counter:
                recipient = recipients[(index + number) % len(recipients)]
                await smtp.sendmail(sender, [recipient], message(sender, recipient, number))
        finally:
            await smtp.quit()

    began = time.perf_counter()
    await asyncio.gather(*(one_connection(i) for i in range(CLIENTS)))
    return time.perf_counter() - began


def run_clients(port: int, total: int, sender: str, recipients: list[str]) -> float:
    """Seconds the child process took to have ``total`` messages accepted."""
    output = subprocess.run(  # noqa: S603 - this very script, with numbers and addresses
        [sys.executable, __file__, "--client", str(port), str(total), sender, *recipients],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------------


class FsyncSink:
    """The floor: each message to a new file, fsync'd, then 250 (nothing else)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.count += 1
        content: bytes = getattr(envelope, "original_content", b"") or b""
        fd = os.open(self.folder / f"{self.count}.eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        return "250 OK"


def cpu_seconds() -> float:
    """CPU used by this process (both servers live here; the clients do not)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def populate(folder: Path, url: str | None) -> tuple[Runtime, str, list[str]]:
    """A migrated instance (its database ``url``, or SQLite in ``folder``) with a pro's mailbox
    and one activated patient per client."""
    from carnet import clock
    from carnet.identity.ins import make_ins
    from carnet.identity.models import Mailbox
    from carnet.messaging.rules import patient_address

    rt = runtime_in(folder, database_url=url)
    sender = "louis.bernard@medecin.mssante.fr"
    recipients = []
    with rt.transaction() as session:
        session.add(a_pro("10000000501"))
        session.flush()
        session.add(
            Mailbox(
                address=sender,
                kind="PER",
                display_name="Dr Louis Bernard",
                owner_rpps="10000000501",
                establishment_id=None,
                hosted_here=True,
                updated_at=clock.now(),
            )
        )
        for n in range(CLIENTS):
            ins = make_ins(f"2850175056{n:03d}")
            recipients.append(patient_address(ins, rt.settings.patient_mail_domain))
            session.add(activated_patient(ins, email=f"patient{n}@example.org"))
    return rt, sender, recipients


def main() -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--client", nargs="+", help=argparse.SUPPRESS)

    args = options(__doc__.splitlines()[0] if __doc__ else "", extra)
    if args.client:
        port, total, sender, *recipients = args.client
        print(asyncio.run(client_side(int(port), int(total), sender, recipients)))
        return 0

    from aiosmtpd.controller import Controller

    from carnet.smtp.server import smtp_in_thread

    total = MESSAGES_QUICK if args.quick else MESSAGES_FULL
    rounds = ROUNDS_QUICK if args.quick else ROUNDS_FULL
    with (
        temporary_folder(args.dir) as folder,
        database_on(args.database, args.citus_workers) as url,
    ):
        rt, sender, recipients = populate(folder / "carnet", url)
        sink = FsyncSink(folder / "sink")
        controller = Controller(sink, hostname="127.0.0.1", port=free_port())
        controller.start()
        print_header(
            "SMTP door: messages accepted per second, 20 clients, vs a bare fsync sink",
            [
                ("messages", f"{total} per round and side, {rounds} alternating rounds"),
                ("message", f"{len(message(sender, recipients[0], 0)):,} bytes"),
                ("folder", folder),
                ("database", database_label(url)),
            ],
        )
        ours_s = base_s = ours_cpu = base_cpu = 0.0
        try:
            with smtp_in_thread(rt) as door:
                run_clients(door.port, CLIENTS, sender, recipients)  # warm-up
                run_clients(controller.port, CLIENTS, sender, recipients)
                for _ in range(rounds):
                    began = cpu_seconds()
                    ours_s += run_clients(door.port, total, sender, recipients)
                    ours_cpu += cpu_seconds() - began
                    began = cpu_seconds()
                    base_s += run_clients(controller.port, total, sender, recipients)
                    base_cpu += cpu_seconds() - began
        finally:
            controller.stop()
            rt.uow.engine.dispose()
    ours, base = rounds * total / ours_s, rounds * total / base_s
    ratio = ours / base
    print(
        f"  ours: {ours_s:.2f} s in all, {ours_cpu / (rounds * total) * 1e3:.1f} ms of CPU a "
        f"message; baseline: {base_s:.2f} s, {base_cpu / (rounds * total) * 1e3:.1f} ms"
    )
    results = [
        Result(
            "messages accepted/s, 20 clients",
            f"{ours:,.0f}/s",
            f"{base:,.0f}/s",
            f"{ratio:.2f}x",
            f">= {TARGET}x",
            ratio >= TARGET,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
