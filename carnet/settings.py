"""One settings object, read from the environment (``CARNET_*``).

Every adapter takes what it needs from here; nothing else reads ``os.environ``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARNET_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Folder for the embedded database, blobs and keys."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file <data_dir>/carnet.db (WAL).",
    )
    blob_url: str | None = Field(
        default=None,
        description="file:///path or s3://bucket/prefix; default: file store under <data_dir>/blobs.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible store."
    )
    master_key_file: Path | None = Field(
        default=None,
        description="Master key wrapping the per-patient data keys; default <data_dir>/keys/master.key. "
        "Keep it outside the database.",
    )
    instance_key_file: Path | None = Field(
        default=None,
        description="Key that signs the instance's own tokens; default <data_dir>/keys/instance.jwk.",
    )
    log_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key signing the transparency log's tree heads (TR-3); default "
        "<data_dir>/keys/log.key. Keep it outside the database.",
    )
    witness_file: Path | None = Field(
        default=None,
        description="Where each signed tree head is appended (JSON lines) for the operator to ship "
        "elsewhere; default <data_dir>/transparency/heads.jsonl.",
    )
    db_max_active: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL: transactions running at once, the others wait in arrival order "
        "(SQLite: always one, its one writer); with serve --workers N, the server's in all, "
        "each process taking its share.",
    )
    db_max_waiting: int = Field(
        default=64,
        ge=0,
        description="Requests waiting for the database past which a new one is answered 503 with "
        "Retry-After at once (with serve --workers N, shared as CARNET_DB_MAX_ACTIVE is).",
    )
    log_interval_seconds: float = Field(
        default=1.0,
        description="How often new traces are sequenced into the transparency log and a head "
        "signed (the log's merge delay).",
    )
    allow_owner: bool = Field(
        default=False,
        description="Let carnet serve run as the database's owner or a superuser (PostgreSQL), "
        "who could silence the trace tables' defences. For tests and demos only.",
    )
    patient_mail_domain: str = Field(
        default="patient.mssante.fr", description="Domain of patients' mailboxes (ID-2)."
    )
    smtp_relay: str | None = Field(
        default=None,
        description="host:port of the outgoing relay: patients' replies and messages to "
        "pharmacies, read receipts, notification e-mails.",
    )
    smtp_relay_tls: Literal["required", "opportunistic", "implicit"] | None = Field(
        default=None,
        description="Encryption to the relay. required: STARTTLS, the relay's certificate "
        "verified, nothing sent otherwise (default outside demo mode); opportunistic: STARTTLS "
        "whenever the relay offers it (default in demo mode); implicit: TLS from the first byte "
        "(port 465, the default there).",
    )
    smtp_relay_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the authorities the relay's certificate must chain to; default: "
        "the system's store. Also checked in opportunistic mode when set.",
    )
    smtp_relay_username: str | None = Field(
        default=None,
        description="Log-in at the relay (SMTP AUTH), only ever sent over an encrypted connection.",
    )
    smtp_relay_password: SecretStr | None = Field(
        default=None, description="Password of that log-in."
    )
    smtp_hostname: str | None = Field(
        default=None,
        description="Name the SMTP server greets with, and Carnet's name in EHLO to the relay; "
        "default: the patient mail domain.",
    )
    smtp_max_message_bytes: int = Field(
        default=20 * 1024 * 1024,
        description="SMTP SIZE: largest message accepted, in bytes (beyond: 552).",
    )
    smtp_max_recipients: int = Field(
        default=100, description="Recipients accepted per SMTP message (beyond: 452)."
    )
    smtp_max_line_bytes: int = Field(
        default=1001,
        description="Longest SMTP line, CRLF included (RFC 5321: 1000, +1 for dot-stuffing).",
    )
    smtp_timeout_seconds: float = Field(
        default=300,
        description="SMTP: a connection silent this long is closed; DATA must end within it.",
    )
    smtp_session_max_seconds: float = Field(
        default=1800, description="SMTP: a connection is closed after this long, whatever it does."
    )
    smtp_tls_cert_file: Path | None = Field(
        default=None,
        description="PEM certificate for STARTTLS; default: a self-signed one made in <data_dir>/smtp.",
    )
    smtp_tls_key_file: Path | None = Field(
        default=None, description="PEM private key of that certificate."
    )
    smtp_client_ca_file: Path | None = Field(
        default=None,
        description="PEM CA of the MSSanté trust space: when set, senders must present a client "
        "certificate it signed (over STARTTLS).",
    )
    smtp_require_tls: bool = Field(
        default=False, description="Refuse mail commands before STARTTLS (530)."
    )
    smtp_give_up_hours: float = Field(
        default=120,
        description="Outgoing mail the relay still has not taken after this long (temporary "
        "refusals, relay down) is given up: the patient is told in the conversation, the "
        "operator by the log for notification e-mails. A permanent refusal (5xx) fails at once.",
    )
    mail_from: str = Field(
        default="ne-pas-repondre@carnet.localhost", description="Sender of notices."
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Address shown to users.")
    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer of pros' tokens (Pro Santé Connect: https://auth.esw.esante.gouv.fr/"
        "auth/realms/esante-wallet). Endpoints and keys come from its discovery document; https "
        "is required outside demo mode.",
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="Keys of that issuer, if not where its discovery's jwks_uri says.",
    )
    oidc_audience: str | None = Field(
        default=None,
        description="Audience expected in pro access tokens on the API and FHIR doors; required "
        "with an issuer (Carnet refuses to start without it).",
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="The pro portal's client id at that issuer (authorization-code flow, PKCE, "
        "nonce); ID tokens must name it as their only audience.",
    )
    oidc_client_secret: str | None = Field(
        default=None, description="The pro portal's client secret, if the issuer gave one."
    )
    oidc_client_auth: str | None = Field(
        default=None,
        description="How the portal authenticates at the token endpoint: client_secret_basic "
        "(default with a secret), client_secret_post, private_key_jwt, none (default without).",
    )
    oidc_client_key_file: Path | None = Field(
        default=None,
        description="Private JWK (RSA, EC P-256 or Ed25519) signing private_key_jwt assertions; "
        "its public half is registered at the issuer.",
    )
    oidc_resource: str | None = Field(
        default=None,
        description="Resource indicator (RFC 8707) sent with the log-in, when the issuer wants one.",
    )
    oidc_timeout_seconds: float = Field(
        default=3.0,
        description="Longest wait on the issuer, for a fetch or a request that needs it; then 503 "
        "with Retry-After.",
    )
    oidc_refresh_seconds: float = Field(
        default=300,
        description="Age after which discovery and keys are refreshed in the background.",
    )
    oidc_grace_seconds: float = Field(
        default=3600,
        description="How long discovery and keys stay usable while the issuer cannot be reached.",
    )
    oidc_min_refetch_seconds: float = Field(
        default=10,
        description="At most one fetch of discovery or keys per this many seconds (an unknown key "
        "id triggers one); also the Retry-After of a 503.",
    )
    http_max_json_bytes: int = Field(
        default=2 * 1024 * 1024,
        description="Largest request body on the JSON API, FHIR and web forms, in bytes (beyond: "
        "413, checked from Content-Length before any byte is read, then while it streams).",
    )
    http_max_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="Largest request body where a document is uploaded (multipart forms, the "
        "JSON API's document uploads, FHIR ITI-65 and ITI-105), in bytes (beyond: 413).",
    )
    http_max_json_depth: int = Field(
        default=64,
        description="Deepest nesting of arrays and objects in a JSON body, checked before it is "
        "parsed (beyond: 400).",
    )
    token_ttl_seconds: int = Field(
        default=3600, description="Lifetime of the instance's own tokens."
    )
    activation_code_days: int = Field(default=90, description="Validity of an activation code.")
    export_lease_seconds: float = Field(
        default=30,
        description="How long an export's builder is trusted to be alive between two pages (LC-6); "
        "after that another takes the export over (a builder killed midway).",
    )
    jobs_hour: int = Field(
        default=3,
        description="Hour of the day (UTC) from which carnet serve runs the daily jobs (majority, "
        "archive retention and deletions, yearly statements, delayed documents), once a day.",
    )
    insi_rate_per_minute: int = Field(
        default=60, description="INSi-like look-ups allowed per caller per minute."
    )
    demo: bool = Field(
        default=False, description="Demo mode (one-click log-in page). Never in production."
    )
    log_level: str = Field(default="INFO", description="Log level.")

    @property
    def resolved_smtp_hostname(self) -> str:
        return self.smtp_hostname or self.patient_mail_domain

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'carnet.db').resolve()}"

    @cached_property
    def resolved_blob_url(self) -> str:
        if self.blob_url:
            return self.blob_url
        return (self.data_dir / "blobs").resolve().as_uri()

    @cached_property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "keys" / "master.key"

    @cached_property
    def resolved_log_key_file(self) -> Path:
        return self.log_key_file or self.data_dir / "keys" / "log.key"

    @cached_property
    def resolved_witness_file(self) -> Path:
        return self.witness_file or self.data_dir / "transparency" / "heads.jsonl"

    @cached_property
    def resolved_instance_key_file(self) -> Path:
        return self.instance_key_file or self.data_dir / "keys" / "instance.jwk"


def describe_settings() -> str:
    """The environment variables, for ``carnet serve --help``."""
    lines = []
    for name, field in Settings.model_fields.items():
        lines.append(f"CARNET_{name.upper()}: {field.description or ''}")
    return "\n\n".join(lines)
