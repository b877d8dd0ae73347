"""House rules, made mechanical (STYLE.md, "Make the architecture mechanical").

Each rule is a function ``(module_path, tree) -> list[Violation]`` over one module's AST, applied to
every ``carnet/**/*.py``. Each rule is proven on one bad example (it must fire, on the expected
lines) and one good example (it must stay quiet): a checker that cannot fail is a defect.

Names are resolved, not matched as text: ``from carnet.models import Document as D`` then
``select(D.id)`` is still a query of ``carnet.records.models.Document``. Re-exports inside carnet
(``carnet.models.Document``, ``carnet.access.gate.patient_documents``…) are followed to the defining
module, so a rule names each guarded symbol once, where it is defined.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from textwrap import dedent

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "carnet"


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule} — {self.message}"


Rule = Callable[[str, ast.Module], list[Violation]]


def module_name(module_path: str) -> str:
    """``carnet/access/gate.py`` → ``carnet.access.gate``; a package's ``__init__`` → the package."""
    parts = module_path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module_path: str) -> list[str]:
    parts = module_path.removesuffix(".py").split("/")
    return parts[:-1]


def _import_source(module_path: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` reads from (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = _package_of(module_path)
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _bindings(module_path: str, statements: Iterator[ast.stmt]) -> dict[str, str]:
    """Local name → qualified name, for the import statements given."""
    bound: dict[str, str] = {}
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bound[head] = head
        elif isinstance(node, ast.ImportFrom):
            source = _import_source(module_path, node)
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bound


def _top_level_imports(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Imports that bind module attributes, in source order: the module body, through
    ``if``/``try`` blocks (``if TYPE_CHECKING:`` included)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            yield from _top_level_imports([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            handlers = [s for h in node.handlers for s in h.body]
            yield from _top_level_imports([*node.body, *handlers, *node.orelse, *node.finalbody])


def carnet_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def reexports() -> dict[str, str]:
    """``carnet.x.y.Name`` → what it is bound to, for every module-level import in carnet."""
    table: dict[str, str] = {}
    for path in carnet_modules():
        module_path = relative(path)
        owner = module_name(module_path)
        for local, target in _bindings(module_path, _top_level_imports(parsed(path).body)).items():
            table[f"{owner}.{local}"] = target
    return table


def canonical(qualified: str) -> str:
    """Follow carnet's re-exports to the defining module: ``carnet.models.Document`` →
    ``carnet.records.models.Document`` (a longest known prefix is replaced, until stable)."""
    table = reexports()
    for _ in range(20):
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in table and table[prefix] != prefix:
                qualified = ".".join([table[prefix], *parts[cut:]])
                break
        else:
            return qualified
    return qualified


class Names:
    """Resolves a ``Name``/``Attribute`` expression to a canonical qualified name, when it
    names something imported (anywhere in the module, function-level imports included)."""

    def __init__(self, module_path: str, tree: ast.Module) -> None:
        imports = (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
        self.bound = _bindings(module_path, imports)

    def qualify(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            target = self.bound.get(node.id)
            return canonical(target) if target else None
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return canonical(f"{base}.{node.attr}") if base else None
        return None

    def references(self, root: ast.AST, targets: frozenset[str]) -> Iterator[ast.expr]:
        """Every ``Name``/``Attribute`` under ``root`` that names one of ``targets``."""
        for node in ast.walk(root):
            if isinstance(node, ast.Name | ast.Attribute) and self.qualify(node) in targets:
                yield node


def _called_name(call: ast.Call) -> str | None:
    """``select(...)`` → ``select``; ``session.get(...)`` → ``get``."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


def _docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(id(body[0].value))
    return found


def _sql_strings(tree: ast.Module, pattern: re.Pattern[str]) -> Iterator[ast.Constant]:
    """String constants (docstrings aside: prose is not SQL) that match ``pattern``."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and pattern.search(node.value)
        ):
            yield node


def _under(module_path: str, *places: str) -> bool:
    """``places`` ending in ``/`` are folders, others are files."""
    return any(module_path.startswith(p) if p.endswith("/") else module_path == p for p in places)


def _report(module_path: str, rule: str, found: Iterator[tuple[int, str]]) -> list[Violation]:
    return sorted({Violation(module_path, line, rule, message) for line, message in found})


# --------------------------------------------------------------------------------------------
# Rule 1: a patient's rows are read through the gate only
# --------------------------------------------------------------------------------------------

#: Where a patient's rows are read: the gate and its record handle.
PATIENT_READERS = ("carnet/access/",)
# Calls that build or run a read of what they are given. ``where``/``filter``/``order_by``… count
# as reads unless the statement they refine is an ``insert``/``update``/``delete`` (a write).
READ_CALLS = frozenset(
    {
        "select",
        "get",
        "get_one",
        "query",
        "where",
        "filter",
        "filter_by",
        "order_by",
        "group_by",
        "having",
        "join",
        "outerjoin",
        "select_from",
        "with_only_columns",
        "aliased",
        "exists",
        "relationship",
    }
)
WRITE_STATEMENTS = frozenset({"insert", "update", "delete"})


def _table_name(node: ast.ClassDef) -> str | None:
    for statement in node.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            return statement.value.value
    return None


@cache
def patient_keyed() -> dict[str, str]:
    """Every model of a patient's data — a mapped class with a ``patient_id`` column, and the
    patients themselves — qualified name → table name, read from carnet's model modules."""
    found: dict[str, str] = {}
    for path in carnet_modules():
        module_path = relative(path)
        if not module_path.removesuffix(".py").endswith("models"):
            continue
        for node in parsed(path).body:
            if not isinstance(node, ast.ClassDef):
                continue
            fields = {
                n.target.id
                for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            }
            table = _table_name(node)
            if table is not None and ("patient_id" in fields or table == "patients"):
                found[f"{module_name(module_path)}.{node.name}"] = table
    return found


# (module, model) → why that module reads a patient's rows without a requester's record. The
# list may only shrink: an entry no read needs any more fails test_patient_read_allowances_*.
PATIENT_READ_ALLOWANCES: dict[tuple[str, str], str] = {
    ("carnet/audit/trail.py", "carnet.audit.models.TraceHead"): "locks a chain's head to append"
    " to it: the one writer of traces, reading no one's history",
    ("carnet/audit/verify.py", "carnet.audit.models.Trace"): "the operator's integrity check"
    " (verify-log) reads hashes, shows no one any trace",
    ("carnet/audit/verify.py", "carnet.audit.models.TraceHead"): "the operator's integrity check",
    ("carnet/audit/verify.py", "carnet.audit.log_models.LogLeaf"): "the operator's integrity"
    " check of the transparency log (TR-3): hashes",
    ("carnet/audit/verify.py", "carnet.audit.log_models.LogQueue"): "the operator's integrity"
    " check: traces not yet in the tree",
    ("carnet/audit/verify.py", "carnet.audit.log_models.ChainSalt"): "the operator's integrity"
    " check recomputes salted leaves",
    ("carnet/audit/sequencer.py", "carnet.audit.log_models.LogQueue"): "the log's sequencer"
    " takes queued traces in order (TR-3), a worker reading hashes only",
    ("carnet/audit/sequencer.py", "carnet.audit.models.Trace"): "the sequencer reads a queued"
    " trace's chain hash to make its leaf",
    ("carnet/audit/sequencer.py", "carnet.audit.log_models.ChainSalt"): "the sequencer salts"
    " each chain's leaves",
    ("carnet/audit/tree.py", "carnet.audit.log_models.LogLeaf"): "the Merkle tree's storage:"
    " leaf hashes for proofs",
    ("carnet/transparency/service.py", "carnet.audit.log_models.LogLeaf"): "a proof's leaf"
    " position, for history lines the record handle released",
    ("carnet/transparency/service.py", "carnet.audit.log_models.ChainSalt"): "a proof's salt,"
    " for history lines the record handle released",
    ("carnet/keys/service.py", "carnet.keys.models.PatientKey"): "unwraps a data key for rows"
    " already read through the gate or being written; keys are not patient data",
    ("carnet/notify/service.py", "carnet.notify.models.OutboxEvent"): "the outbox dispatcher, a"
    " worker after commit: delivers what a use case queued",
    ("carnet/notify/service.py", "carnet.notify.models.Notification"): "the dispatcher checks it"
    " did not already file this event (idempotent delivery)",
    ("carnet/notify/service.py", "carnet.population.models.Patient"): "the dispatcher needs the"
    " address and state a notification goes to",
    ("carnet/messaging/delivery.py", "carnet.messaging.models.OutgoingMail"): "the outgoing"
    " queue's worker sends what a use case queued",
    ("carnet/messaging/delivery.py", "carnet.messaging.models.Message"): "the worker records a"
    " sent message's delivery state",
    ("carnet/messaging/undelivered.py", "carnet.messaging.models.Message"): "the delivery"
    " worker finds the message a failure notice is about",
    ("carnet/messaging/undelivered.py", "carnet.messaging.models.Conversation"): "the delivery"
    " worker files the failure notice in its conversation",
    ("carnet/messaging/queries.py", "carnet.messaging.models.OutgoingMail"): "the operator's"
    " `carnet mail queue`: recipient domains and states, no content, no patient",
    ("carnet/notify/queries.py", "carnet.notify.models.OutboxEvent"): "the operator's"
    " `carnet mail queue` and /metrics: counts and states of notification e-mails",
    ("carnet/notify/queries.py", "carnet.population.models.Patient"): "the operator's mail"
    " queue shows the domain an e-mail goes to, never the address",
    ("carnet/messaging/delivery.py", "carnet.messaging.models.HostedMail"): "the worker hands a"
    " message to a mailbox hosted here",
    ("carnet/messaging/filing.py", "carnet.population.models.Patient"): "the SMTP door files"
    " mail for a recipient (MSG-4/MSG-5: does his profile receive?), reading nothing for anyone",
    ("carnet/messaging/filing.py", "carnet.keys.models.PatientKey"): "the SMTP door seals new"
    " mail with the recipient's key",
    ("carnet/messaging/filing.py", "carnet.messaging.models.Message"): "the SMTP door drops a"
    " message it already filed (same Message-ID)",
    ("carnet/messaging/filing.py", "carnet.messaging.models.Conversation"): "the SMTP door files"
    " a message in its open conversation (MSG-3)",
    ("carnet/messaging/reports.py", "carnet.messaging.models.Message"): "the SMTP door finds"
    " the message a null-sender report is about, among those the patient sent (issue 16)",
    ("carnet/messaging/reports.py", "carnet.messaging.models.Conversation"): "the SMTP door"
    " files a report's notice in the conversation of the message it is about",
    ("carnet/messaging/inbound.py", "carnet.population.models.Patient"): "RCPT TO: whether an"
    " address names a profile that receives (MSG-4)",
    ("carnet/hosted/mailbox.py", "carnet.messaging.models.HostedMail"): "a hosted pro's own"
    " inbox (mail the patient sent him), read by that pro in the portal",
    ("carnet/identity/portal.py", "carnet.identity.portal_models.ProAccessMode"): "the pro's"
    " own portal session state (his chosen access mode), not the patient's data",
    ("carnet/population/login.py", "carnet.population.models.Patient"): "log-in: finds the"
    " person by INS or e-mail to check his password",
    ("carnet/population/login.py", "carnet.population.login_models.LoginGuard"): "log-in:"
    " the lock-out counter",
    ("carnet/population/login.py", "carnet.population.login_models.LoginSource"): "log-in:"
    " each source's failures, and the browsers known to the person (issue 15)",
    ("carnet/population/login.py", "carnet.population.login_models.LoginChallenge"): "log-in:"
    " the second factor's code",
    ("carnet/population/login.py", "carnet.population.login_models.WebSession"): "log-in:"
    " the session a cookie names",
    ("carnet/population/service.py", "carnet.population.models.Patient"): "the operator's"
    " register: import, activation by code, tokens by INS",
    ("carnet/population/service.py", "carnet.population.models.Representative"): "the"
    " operator's register: import of representatives",
    ("carnet/population/service.py", "carnet.population.models.PatientIns"): "issue 18: the"
    " register's id of an INS, from its look-up (one shard on Citus)",
    ("carnet/population/service.py", "carnet.population.models.PendingCode"): "issue 18: whose"
    " pending activation code this is, from its look-up (one shard on Citus)",
    ("carnet/population/identity.py", "carnet.population.models.InsQualification"): "ID-3:"
    " a pro's qualification of an INS, recorded once",
    ("carnet/population/insi.py", "carnet.population.models.Patient"): "ID-3: the INSi-like"
    " look-up of an INS by its five traits",
    ("carnet/demo/load.py", "carnet.population.models.Patient"): "demo: loads only into an"
    " empty register",
    ("carnet/audit/verify.py", "carnet.audit.log_models.ChainCut"): "the operator's integrity"
    " check walks a destroyed chain on from its cut (LC-5): hashes",
    ("carnet/lifecycle/destruction.py", "carnet.lifecycle.models.DeletionCertificate"): "LC-5:"
    " certificates of destroyed archives, written out for the operator (no record is left)",
    ("carnet/lifecycle/due.py", "carnet.population.models.Patient"): "the daily jobs find the"
    " profiles whose time has come (majority, archives, statements): dates and states only",
    ("carnet/lifecycle/due.py", "carnet.population.models.Representative"): "the majority job"
    " finds the legal representatives whose sessions end at 18 (LC-7)",
    ("carnet/lifecycle/due.py", "carnet.lifecycle.models.YearlyStatement"): "the statements job"
    " leaves out whoever had this year's statement (LC-3)",
    ("carnet/lifecycle/export.py", "carnet.lifecycle.models.Export"): "an export's own row (its"
    " state and progress) for the requester the gate let in; its content is read through the"
    " record handle (record.export)",
    ("carnet/lifecycle/export_build.py", "carnet.lifecycle.models.Export"): "the export builder"
    " claims and advances its export's row, a worker like the outbox dispatcher",
    ("carnet/lifecycle/requests.py", "carnet.lifecycle.models.LifeRequest"): "the operator's"
    " queue of the patients' requests (carnet population requests), one open code request each",
    ("carnet/lifecycle/requests.py", "carnet.population.models.Patient"): "the operator's queue"
    " names who asked (INS and names, from the register)",
    ("carnet/lifecycle/space_data.py", "carnet.messaging.models.HostedMail"): "closing keeps what"
    " a hosted pro's mailbox received (LC-9): compares blob keys only",
}


def _statement_root(call: ast.Call) -> ast.Call:
    """The call a method chain starts from: ``update(T).where(...)`` → ``update(T)``."""
    node: ast.Call = call
    while isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        node = node.func.value
    return node


def _patient_reads(module_path: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``(line, model)`` for every read of a patient-keyed model in the module."""
    names = Names(module_path, tree)
    keyed = patient_keyed()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or _called_name(call) not in READ_CALLS:
            continue
        if _called_name(_statement_root(call)) in WRITE_STATEMENTS:
            continue
        for argument in _arguments(call):
            for node in ast.walk(argument):
                if not isinstance(node, ast.Name | ast.Attribute):
                    continue
                qualified = names.qualify(node)
                if qualified in keyed:
                    yield node.lineno, qualified
            if _called_name(call) == "relationship" and isinstance(argument, ast.Constant):
                for model in keyed:
                    if model.rsplit(".", 1)[1] == argument.value:
                        yield argument.lineno, model
    if not _under(module_path, "carnet/migrations/"):
        tables = "|".join(sorted(set(keyed.values())))
        raw = re.compile(rf"\b(FROM|JOIN)\s+[\"`]?({tables})\b", re.IGNORECASE)
        by_table = {table: model for model, table in keyed.items()}
        for text in _sql_strings(tree, raw):
            match = raw.search(str(text.value))
            assert match is not None
            yield text.lineno, by_table[match.group(2).lower()]


def rule_patient_reads(module_path: str, tree: ast.Module) -> list[Violation]:
    """A patient's rows — every model keyed by patient (documents, traces, settings, messages,
    notifications, keys…) and the patients themselves — are read in ``carnet/access/`` only:
    the gate and its record handle, which decide and trace. Elsewhere, a read
    (``select(Model…)``, ``session.get(Model, …)``, a ``where``/``join`` on its columns, a
    ``relationship`` to it, raw ``FROM``/``JOIN`` on its table) is a violation, unless
    ``PATIENT_READ_ALLOWANCES`` names that module and model with its reason (workers, log-in,
    the operator's register). Writes (``insert``/``update``/``delete`` statements and their
    ``where``) are the capabilities' own. Migrations hold DDL and data moves and are exempt."""
    if _under(module_path, *PATIENT_READERS, "carnet/migrations/"):
        return []
    return _report(
        module_path,
        "patient-reads",
        (
            (line, f"reads {model.rsplit('.', 1)[1]} around the gate; open the record")
            for line, model in _patient_reads(module_path, tree)
            if (module_path, model) not in PATIENT_READ_ALLOWANCES
        ),
    )


# --------------------------------------------------------------------------------------------
# Rule 2: the trail is the one writer of traces
# --------------------------------------------------------------------------------------------

TRACE_MODELS = frozenset({"carnet.audit.models.Trace", "carnet.audit.models.TraceHead"})
TRACE_WRITER = "carnet/audit/trail.py"
WRITE_CALLS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "merge",
        "bulk_insert_mappings",
        "bulk_update_mappings",
        "bulk_save_objects",
    }
)
TRACES_SQL = re.compile(
    r"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?)\s+[\"`]?"
    r"(traces|trace_heads)\b",
    re.IGNORECASE,
)


def rule_trace_writes(module_path: str, tree: ast.Module) -> list[Violation]:
    """Only ``carnet/audit/trail.py`` writes the trace tables: no ``Trace(…)``/``TraceHead(…)``
    built elsewhere, no ``insert``/``update``/``delete`` on them (nor ``Trace.__table__.insert()``),
    no raw ``INSERT INTO``/``UPDATE``/``DELETE FROM``/``TRUNCATE`` on ``traces``/``trace_heads``.
    Reading them (``select(Trace)``, audit/queries.py, audit/verify.py) is fine. Migrations may
    name the tables in their append-only trigger DDL, so they are exempt from the raw-SQL check."""
    if module_path == TRACE_WRITER:
        return []
    names = Names(module_path, tree)

    def found() -> Iterator[tuple[int, str]]:
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            built = names.qualify(call.func)
            if built in TRACE_MODELS:
                yield (
                    call.lineno,
                    f"builds a {built.rsplit('.', 1)[1]}; only audit.trail.record writes traces",
                )
                continue
            if _called_name(call) not in WRITE_CALLS:
                continue
            written = _arguments(call)
            if isinstance(call.func, ast.Attribute):
                written.append(call.func.value)  # Trace.__table__.insert()
            if any(next(names.references(w, TRACE_MODELS), None) for w in written):
                yield (
                    call.lineno,
                    f"{_called_name(call)} on a trace table; only audit.trail writes traces",
                )
        if not _under(module_path, "carnet/migrations/"):
            for text in _sql_strings(tree, TRACES_SQL):
                yield text.lineno, "raw SQL writes a trace table; only audit.trail writes traces"

    return _report(module_path, "trace-write", found())


# --------------------------------------------------------------------------------------------
# Rule 3: one clock
# --------------------------------------------------------------------------------------------

CLOCK_READS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "sqlalchemy.func.now",
        "sqlalchemy.func.current_timestamp",
        "sqlalchemy.func.current_date",
    }
)


def rule_one_clock(module_path: str, tree: ast.Module) -> list[Violation]:
    """Only ``carnet/clock.py`` reads the wall clock (``datetime.now``/``utcnow``/``today``,
    ``date.today``, ``time.time``/``time_ns``, the database's ``func.now()``…), whether called or
    passed along (``default_factory=datetime.now``): everything else asks ``carnet.clock``, which
    tests and ``jobs run --today`` replace. Durations (``time.monotonic``, ``perf_counter``) are
    not dates and are fine."""
    if module_path == "carnet/clock.py":
        return []
    names = Names(module_path, tree)
    return _report(
        module_path,
        "one-clock",
        (
            (ref.lineno, f"reads the wall clock ({names.qualify(ref)}); use carnet.clock")
            for ref in names.references(tree, CLOCK_READS)
        ),
    )


# --------------------------------------------------------------------------------------------
# Rule 4: one source of ids and secrets
# --------------------------------------------------------------------------------------------

UUID_MAKERS = frozenset({"uuid.uuid1", "uuid.uuid3", "uuid.uuid4", "uuid.uuid5"})
# secrets.compare_digest draws nothing: it is a constant-time comparison, allowed anywhere.
RANDOMNESS = frozenset(
    {
        "os.urandom",
        "os.getrandom",
        "secrets.token_bytes",
        "secrets.token_hex",
        "secrets.token_urlsafe",
        "secrets.randbits",
        "secrets.randbelow",
        "secrets.choice",
        "secrets.SystemRandom",
    }
)
ID_SOURCE = "carnet/ids.py"
# Cryptographic material is not an id: AES data keys, GCM nonces and the staging file's suffix
# are drawn with os.urandom in blobs/crypto.py. auth/ draws none today (its keys come from the
# cryptography library), so it gets no allowance.
KEY_MATERIAL = ("carnet/blobs/crypto.py",)


def rule_one_id_source(module_path: str, tree: ast.Module) -> list[Violation]:
    """Ids come from ``carnet/ids.py`` only: ``uuid1``/``uuid3``/``uuid4``/``uuid5`` are called
    nowhere else. Random secrets (``secrets.token_*``…, ``os.urandom``) come from ``ids.py`` too,
    with one allowance: ``carnet/blobs/crypto.py`` draws key material and nonces with
    ``os.urandom``. Seeded ``random.Random`` (demo data) is neither and is not checked here."""
    if module_path == ID_SOURCE:
        return []
    names = Names(module_path, tree)

    def found() -> Iterator[tuple[int, str]]:
        for ref in names.references(tree, UUID_MAKERS):
            yield ref.lineno, f"mints an id ({names.qualify(ref)}); use carnet.ids.new_id"
        if not _under(module_path, *KEY_MATERIAL):
            for ref in names.references(tree, RANDOMNESS):
                yield ref.lineno, f"draws randomness ({names.qualify(ref)}); use carnet.ids"

    return _report(module_path, "one-id-source", found())


# --------------------------------------------------------------------------------------------
# Rule 5: doors hold no rules, hence no models
# --------------------------------------------------------------------------------------------

DOORS = ("carnet/http/", "carnet/cli/", "carnet/web/", "carnet/smtp/", "carnet/serve.py")
MODELS_MODULE = re.compile(r"carnet(\.\w+)*\.models")
# (door module, models module) → why it is tolerated. The list may only shrink: an entry that no
# longer matches an import fails test_door_allowances_are_still_needed.
DOOR_MODEL_ALLOWANCES: dict[tuple[str, str], str] = {
    (
        "carnet/http/api/schemas.py",
        "carnet.records.models",
    ): "DocumentOut.of maps a Document row the gate already released to JSON; attributes only,"
    " no query",
    (
        "carnet/http/fhir/shapes.py",
        "carnet.records.models",
    ): "document_reference maps a Document row the gate already released to FHIR JSON; attributes"
    " only, no query",
    (
        "carnet/http/fhir/shapes.py",
        "carnet.population.models",
    ): "patient_resource maps the Patient row find_patient returned (TD0.2); attributes only",
}


def _door_model_imports(module_path: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``(line, models module)`` for every import of a ``carnet…models`` module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if MODELS_MODULE.fullmatch(alias.name):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _import_source(module_path, node)
            if MODELS_MODULE.fullmatch(source):
                yield node.lineno, source
                continue
            for alias in node.names:
                if MODELS_MODULE.fullmatch(f"{source}.{alias.name}"):
                    yield node.lineno, f"{source}.{alias.name}"


def rule_doors_hold_no_models(module_path: str, tree: ast.Module) -> list[Violation]:
    """Doors (``carnet/http/``, ``carnet/cli/``, ``carnet/serve.py``) call capabilities; they do
    not import ORM models (``carnet.models``, ``carnet.<capability>.models``), which is how rules
    and queries leak into them. Today's exceptions sit in ``DOOR_MODEL_ALLOWANCES``, each with its
    reason; anything new fails."""
    if not _under(module_path, *DOORS):
        return []
    return _report(
        module_path,
        "door-models",
        (
            (line, f"a door imports {models}; call a capability instead")
            for line, models in _door_model_imports(module_path, tree)
            if (module_path, models) not in DOOR_MODEL_ALLOWANCES
        ),
    )


# --------------------------------------------------------------------------------------------
# Rule 6: a patient's documents are read through the gate
# --------------------------------------------------------------------------------------------

PATIENT_DOCUMENTS = frozenset({"carnet.access.loading.patient_documents"})
GATE_SIDE = ("carnet/access/",)


def rule_documents_read_through_gate(module_path: str, tree: ast.Module) -> list[Violation]:
    """``carnet.access.loading.patient_documents`` loads a patient's documents unfiltered; only
    the gate's side (``carnet/access/``, ``carnet/records/``) may import or call it. Everyone
    else asks the gate (``records.service.list_documents``…), which filters what the actor may
    see and traces the read."""
    if _under(module_path, *GATE_SIDE):
        return []
    names = Names(module_path, tree)

    def found() -> Iterator[tuple[int, str]]:
        message = "reaches patient_documents around the gate; use the records service"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = canonical(_import_source(module_path, node))
                for alias in node.names:
                    star = alias.name == "*" and source == "carnet.access.loading"
                    if star or canonical(f"{source}.{alias.name}") in PATIENT_DOCUMENTS:
                        yield node.lineno, message
        for ref in names.references(tree, PATIENT_DOCUMENTS):
            yield ref.lineno, message

    return _report(module_path, "gate-reads", found())


RULES: tuple[Rule, ...] = (
    rule_patient_reads,
    rule_trace_writes,
    rule_one_clock,
    rule_one_id_source,
    rule_doors_hold_no_models,
    rule_documents_read_through_gate,
)


def check(module_path: str, source: str, rules: tuple[Rule, ...] = RULES) -> list[Violation]:
    tree = ast.parse(dedent(source))
    return [v for rule in rules for v in rule(module_path, tree)]


def lines(violations: list[Violation]) -> list[int]:
    return sorted({v.line for v in violations})


# --------------------------------------------------------------------------------------------
# Rule 1 examples
# --------------------------------------------------------------------------------------------

PATIENT_READS_BAD = """\
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased, relationship

from carnet import models
from carnet.models import Document as Doc
from carnet.access.models import AccessSettings
from carnet.messaging.models import Message
from carnet.notify.models import Notification

def leak(session, patient_id):
    session.scalars(select(Notification).where(Notification.patient_id == patient_id))
    session.get(Doc, (patient_id, "d1"))
    session.query(models.Trace)
    session.execute(select(func.count()).where(Message.read_at.is_(None)))
    session.execute(select(func.count()).select_from(AccessSettings))
    aliased(models.Patient)
    session.execute(text("SELECT id FROM care_relations WHERE patient_id = :p"))
    late = relationship("Conversation")
"""
PATIENT_READS_BAD_LINES = [11, 12, 13, 14, 15, 16, 17, 18]

PATIENT_READS_GOOD = """\
'''Reads documents FROM documents? No: through the gate's record handle.'''
from sqlalchemy import select, update

from carnet.access import gate
from carnet.identity.models import Pro
from carnet.records.models import Document

def titles(session, rt, ctx, patient_id) -> list[str]:
    record = gate.open(session, rt, ctx, patient_id=patient_id)
    return [d.title for d in record.documents.list()]

def archive(session, patient_id, ids):
    session.execute(update(Document).where(Document.patient_id == patient_id).values(archived=True))

def describe(d: Document) -> str:
    return f"{d.title} ({isinstance(d, Document)})"

def pro(session, rpps):
    return session.scalars(select(Pro).where(Pro.rpps == rpps)).one()
"""


def test_rule_patient_reads_flags_bad_example() -> None:
    found = check("carnet/profile/service.py", PATIENT_READS_BAD, (rule_patient_reads,))
    assert lines(found) == PATIENT_READS_BAD_LINES, "\n".join(map(str, found))


def test_rule_patient_reads_accepts_good_example() -> None:
    assert check("carnet/profile/service.py", PATIENT_READS_GOOD, (rule_patient_reads,)) == []


def test_rule_patient_reads_lets_the_gate_read() -> None:
    assert check("carnet/access/record_space.py", PATIENT_READS_BAD, (rule_patient_reads,)) == []


@pytest.mark.parametrize("elsewhere", ["carnet/records/service.py", "carnet/messaging/service.py"])
def test_rule_patient_reads_holds_in_every_capability(elsewhere: str) -> None:
    """No package is exempted wholesale: records and messaging read through the gate too."""
    found = check(elsewhere, PATIENT_READS_BAD, (rule_patient_reads,))
    assert lines(found) == PATIENT_READS_BAD_LINES


def test_rule_patient_reads_allowance_is_per_module_and_model() -> None:
    source = (
        "from sqlalchemy import select\n"
        "from carnet.notify.models import OutboxEvent\n"
        "from carnet.records.models import Document\n"
        "def f(s):\n"
        "    return s.scalars(select(OutboxEvent)), s.scalars(select(Document))\n"
    )
    found = check("carnet/notify/service.py", source, (rule_patient_reads,))
    assert [v.message for v in found] == ["reads Document around the gate; open the record"]


def test_rule_patient_reads_knows_every_patient_table() -> None:
    """A model keyed by patient is found wherever it is defined (a new capability's too)."""
    tables = set(patient_keyed().values())
    assert {"patients", "documents", "traces", "trace_heads", "care_relations"} <= tables
    assert {"access_settings", "notifications", "messages", "message_attachments"} <= tables
    assert {"conversations", "patient_keys", "representatives", "outbox"} <= tables
    assert "pros" not in tables
    assert "mailboxes" not in tables


# --------------------------------------------------------------------------------------------
# Rule 2 examples
# --------------------------------------------------------------------------------------------

TRACE_WRITE_BAD = """\
from sqlalchemy import delete, insert, update, text

from carnet.audit import models as audit
from carnet.audit.models import Trace, TraceHead
from carnet.models import Trace as T

def forge(session, ctx):
    session.add(Trace(patient_id="p", seq=1))
    session.add(TraceHead(patient_id="p", seq=0, hash=""))
    session.execute(insert(Trace).values(patient_id="p"))
    session.execute(update(T).where(T.seq == 1).values(reason="x"))
    session.execute(delete(audit.TraceHead))
    session.execute(Trace.__table__.delete())
    session.execute(text("DELETE FROM traces WHERE seq > 3"))
    session.execute(text("insert into trace_heads (patient_id) values ('p')"))
"""
TRACE_WRITE_BAD_LINES = [8, 9, 10, 11, 12, 13, 14, 15]

TRACE_WRITE_GOOD = """\
'''Never UPDATE traces, never DELETE FROM traces: append through the trail.'''
from sqlalchemy import delete, select

from carnet.audit import trail
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.notify.models import OutboxEvent

def act(session, ctx, patient_id):
    trail.record(session, ctx, Action.READ, patient_id=patient_id)
    session.execute(delete(OutboxEvent).where(OutboxEvent.id == "x"))
    return session.scalars(select(Trace).where(Trace.patient_id == patient_id)).all()
"""


def test_rule_trace_writes_flags_bad_example() -> None:
    found = check("carnet/audit/queries.py", TRACE_WRITE_BAD, (rule_trace_writes,))
    assert lines(found) == TRACE_WRITE_BAD_LINES, "\n".join(map(str, found))


def test_rule_trace_writes_accepts_good_example() -> None:
    assert check("carnet/records/service.py", TRACE_WRITE_GOOD, (rule_trace_writes,)) == []


def test_rule_trace_writes_lets_the_trail_write() -> None:
    assert check(TRACE_WRITER, TRACE_WRITE_BAD, (rule_trace_writes,)) == []


def test_rule_trace_writes_lets_migrations_hold_trigger_ddl_only() -> None:
    found = check("carnet/migrations/versions/0002_x.py", TRACE_WRITE_BAD, (rule_trace_writes,))
    assert lines(found) == [8, 9, 10, 11, 12, 13]


# --------------------------------------------------------------------------------------------
# Rule 3 examples
# --------------------------------------------------------------------------------------------

ONE_CLOCK_BAD = """\
import datetime as dt
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from time import time as epoch

from sqlalchemy import func

def stamp():
    a = datetime.now(UTC)
    b = datetime.utcnow()
    c = date.today()
    d = time.time()
    e = dt.datetime.now(dt.UTC)
    f = epoch()
    return a, b, c, d, e, f, func.now()

@dataclass
class Row:
    at: datetime = field(default_factory=datetime.now)
"""
ONE_CLOCK_BAD_LINES = [10, 11, 12, 13, 14, 15, 16, 20]

ONE_CLOCK_GOOD = """\
'''Nothing here calls datetime.now(): time comes from carnet.clock.'''
import time
from datetime import UTC, datetime, timedelta

from carnet import clock

def stamp():
    started = time.monotonic()
    deadline = clock.now() + timedelta(days=1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return deadline, epoch, clock.today(), time.perf_counter() - started
"""


def test_rule_one_clock_flags_bad_example() -> None:
    found = check("carnet/notify/service.py", ONE_CLOCK_BAD, (rule_one_clock,))
    assert lines(found) == ONE_CLOCK_BAD_LINES, "\n".join(map(str, found))


def test_rule_one_clock_accepts_good_example() -> None:
    assert check("carnet/notify/service.py", ONE_CLOCK_GOOD, (rule_one_clock,)) == []


def test_rule_one_clock_lets_the_clock_read_the_time() -> None:
    assert check("carnet/clock.py", ONE_CLOCK_BAD, (rule_one_clock,)) == []


# --------------------------------------------------------------------------------------------
# Rule 4 examples
# --------------------------------------------------------------------------------------------

ONE_ID_SOURCE_BAD = """\
import os
import secrets
import uuid
from uuid import uuid4 as fresh

def mint():
    a = uuid.uuid4().hex
    b = fresh()
    c = secrets.token_urlsafe(20)
    d = os.urandom(16).hex()
    return a, b, c, d
"""
ONE_ID_SOURCE_BAD_LINES = [7, 8, 9, 10]

ONE_ID_SOURCE_GOOD = """\
'''Ids are never uuid4() here: carnet.ids mints them.'''
import hmac
import random
import secrets
import uuid

from carnet.ids import new_id, new_secret

def mint(expected: str, given: str):
    same = secrets.compare_digest(expected, given) and hmac.compare_digest(expected, given)
    parsed = uuid.UUID("12345678123456781234567812345678")
    demo = random.Random(2026).choice(["a", "b"])
    return new_id(), new_secret(), same, parsed, demo
"""


def test_rule_one_id_source_flags_bad_example() -> None:
    found = check("carnet/population/service.py", ONE_ID_SOURCE_BAD, (rule_one_id_source,))
    assert lines(found) == ONE_ID_SOURCE_BAD_LINES, "\n".join(map(str, found))


def test_rule_one_id_source_accepts_good_example() -> None:
    assert check("carnet/population/service.py", ONE_ID_SOURCE_GOOD, (rule_one_id_source,)) == []


def test_rule_one_id_source_lets_ids_mint_and_crypto_draw_keys_only() -> None:
    assert check(ID_SOURCE, ONE_ID_SOURCE_BAD, (rule_one_id_source,)) == []
    # blobs/crypto.py may draw key material, never mint ids; auth/ has no allowance.
    in_crypto = check("carnet/blobs/crypto.py", ONE_ID_SOURCE_BAD, (rule_one_id_source,))
    assert lines(in_crypto) == [7, 8]
    assert lines(check("carnet/auth/instance.py", ONE_ID_SOURCE_BAD, (rule_one_id_source,))) == (
        ONE_ID_SOURCE_BAD_LINES
    )


# --------------------------------------------------------------------------------------------
# Rule 5 examples
# --------------------------------------------------------------------------------------------

DOORS_BAD = """\
import carnet.keys.models
from carnet import models
from carnet.notify import models as notify_models
from carnet.population.models import Patient
from carnet.records import service as records

def handler():
    from carnet.access.models import CareRelation
    return Patient, CareRelation, models, notify_models, records, carnet.keys.models
"""
DOORS_BAD_LINES = [1, 2, 3, 4, 8]

DOORS_GOOD = """\
'''A door: parses, calls a capability, shapes the answer. It never imports carnet.models.'''
from carnet.access import space
from carnet.http.api.schemas import DocumentOut
from carnet.records import service as records

def list_documents(rt, ctx, patient_id):
    _, found = records.list_documents(rt, ctx, patient_id)
    return [DocumentOut.of(d) for d in found], space
"""


def test_rule_doors_hold_no_models_flags_bad_example() -> None:
    found = check("carnet/http/api/pro.py", DOORS_BAD, (rule_doors_hold_no_models,))
    assert lines(found) == DOORS_BAD_LINES, "\n".join(map(str, found))
    assert lines(check("carnet/cli/main.py", DOORS_BAD, (rule_doors_hold_no_models,))) == (
        DOORS_BAD_LINES
    )


def test_rule_doors_hold_no_models_accepts_good_example() -> None:
    assert check("carnet/http/api/pro.py", DOORS_GOOD, (rule_doors_hold_no_models,)) == []


def test_rule_doors_hold_no_models_leaves_capabilities_alone() -> None:
    assert check("carnet/records/service.py", DOORS_BAD, (rule_doors_hold_no_models,)) == []


def test_rule_doors_hold_no_models_allowance_is_per_models_module() -> None:
    # schemas.py is allowed records.models, not any other model.
    source = (
        "from carnet.records.models import Document\nfrom carnet.population.models import Patient\n"
    )
    found = check("carnet/http/api/schemas.py", source, (rule_doors_hold_no_models,))
    assert lines(found) == [2]


# --------------------------------------------------------------------------------------------
# Rule 6 examples
# --------------------------------------------------------------------------------------------

GATE_READS_BAD = """\
import carnet.access.loading
from carnet.access import loading
from carnet.access.record_documents import patient_documents as via_gate
from carnet.access.loading import patient_documents
from carnet.access.loading import *

def everything(session, patient_id):
    a = patient_documents(session, patient_id)
    b = loading.patient_documents(session, patient_id)
    c = carnet.access.loading.patient_documents(session, patient_id)
    return a, b, c, via_gate
"""
GATE_READS_BAD_LINES = [3, 4, 5, 8, 9, 10, 11]

GATE_READS_GOOD = """\
'''Lists what the actor may see; never patient_documents directly.'''
from carnet.access.loading import record_facts
from carnet.records.service import list_documents

def visible(rt, ctx, patient_id):
    return list_documents(rt, ctx, patient_id), record_facts
"""


def test_rule_documents_read_through_gate_flags_bad_example() -> None:
    found = check("carnet/notify/service.py", GATE_READS_BAD, (rule_documents_read_through_gate,))
    assert lines(found) == GATE_READS_BAD_LINES, "\n".join(map(str, found))


def test_rule_documents_read_through_gate_accepts_good_example() -> None:
    rules = (rule_documents_read_through_gate,)
    assert check("carnet/notify/service.py", GATE_READS_GOOD, rules) == []


def test_rule_documents_read_through_gate_lets_the_gate_side_load() -> None:
    rules = (rule_documents_read_through_gate,)
    assert check("carnet/access/gate.py", GATE_READS_BAD, rules) == []
    # records/ lists through the record handle like everyone else.
    assert lines(check("carnet/records/service.py", GATE_READS_BAD, rules)) == GATE_READS_BAD_LINES


# --------------------------------------------------------------------------------------------
# The real tree
# --------------------------------------------------------------------------------------------


def test_every_rule_is_proven_by_examples() -> None:
    """Each rule in RULES has its flags-bad and accepts-good tests in this module."""
    defined = set(globals())
    for rule in RULES:
        name = rule.__name__.removeprefix("rule_")
        for kind in ("flags_bad_example", "accepts_good_example"):
            assert f"test_rule_{name}_{kind}" in defined, f"{rule.__name__} lacks its {kind} test"


def test_guarded_symbols_still_exist() -> None:
    """A renamed or moved target would silently turn its rule off."""
    allowed = (model for _, model in PATIENT_READ_ALLOWANCES)
    for qualified in (*TRACE_MODELS, *PATIENT_DOCUMENTS, *allowed):
        module, name = qualified.rsplit(".", 1)
        path = ROOT / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{qualified}: no module {path}"
        defined = {
            node.name
            for node in parsed(path).body
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, f"{qualified} is not defined in {relative(path)}"
    places = (*PATIENT_READERS, TRACE_WRITER, ID_SOURCE, *KEY_MATERIAL, *DOORS, *GATE_SIDE)
    for place in (*places, *(module for module, _ in PATIENT_READ_ALLOWANCES)):
        assert (ROOT / place).exists(), f"house rule names {place}, which does not exist"


def test_door_allowances_are_still_needed() -> None:
    """The allow-list only shrinks: once an import is gone, its entry must go too."""
    used = {
        (relative(path), models)
        for path in carnet_modules()
        for _, models in _door_model_imports(relative(path), parsed(path))
    }
    stale = set(DOOR_MODEL_ALLOWANCES) - used
    assert not stale, f"remove these door allowances, nothing needs them: {sorted(stale)}"


def test_patient_read_allowances_are_still_needed() -> None:
    """The allow-list only shrinks: once a read is gone, its entry must go too."""
    used = {
        (relative(path), model)
        for path in carnet_modules()
        for _, model in _patient_reads(relative(path), parsed(path))
    }
    stale = set(PATIENT_READ_ALLOWANCES) - used
    assert not stale, f"remove these allowances, nothing needs them: {sorted(stale)}"


def test_carnet_follows_house_rules() -> None:
    modules = carnet_modules()
    assert len(modules) > 50, f"found only {len(modules)} modules under {PACKAGE}"
    violations = sorted(
        v for path in modules for rule in RULES for v in rule(relative(path), parsed(path))
    )
    assert not violations, "house rules broken:\n" + "\n".join(map(str, violations))
