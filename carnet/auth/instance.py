"""The instance's own tokens: for automation, tests and ``carnet token pro|patient``.

A pro token is shaped like a Pro Santé Connect access token, so that one reader
(:func:`carnet.auth.claims.pro_claims_from_payload`) serves both issuers. The signing key is an
Ed25519 JWK kept in a file of its own, outside the database, like the master key.
Signed with ``alg`` ``Ed25519`` rather than ``EdDSA``: RFC 9864 deprecates the polymorphic name
(https://www.rfc-editor.org/rfc/rfc9864).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeyParameters, OKPKey

from carnet import clock
from carnet.auth.claims import INS_PATTERN, LEVEL_ACRS, filed_id_nat_ps
from carnet.context import AuthLevel
from carnet.errors import Invalid
from carnet.ids import new_id

INSTANCE_ISSUER = "carnet-instance"
KIND_CLAIM = "carnet_kind"
KIND_PRO = "pro"
KIND_PATIENT = "patient"

InstanceKey = OKPKey | ECKey


class InstanceKeyError(RuntimeError):
    """The key file exists but cannot be used: an operator's problem, never a user's refusal."""


def instance_algorithm(key: InstanceKey) -> str:
    """The one algorithm this key signs with; tokens claiming another one are refused."""
    if isinstance(key, OKPKey) and key.curve_name == "Ed25519":
        return "Ed25519"
    if isinstance(key, ECKey) and key.curve_name == "P-256":
        return "ES256"
    raise InstanceKeyError(f"Unsupported instance key curve: {key.curve_name}")


def _import(path: Path, text: str) -> InstanceKey:
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise InstanceKeyError(f"{path}: not a JSON Web Key")
        key: InstanceKey
        if data.get("kty") == "OKP":
            key = OKPKey.import_key(data)
        elif data.get("kty") == "EC":
            key = ECKey.import_key(data)
        else:
            raise InstanceKeyError(f"{path}: only OKP (Ed25519) or EC (P-256) keys are supported")
    except (ValueError, JoseError) as error:
        raise InstanceKeyError(f"{path}: unreadable instance key ({error})") from error
    if not key.is_private:
        raise InstanceKeyError(f"{path}: the instance key must hold its private part")
    instance_algorithm(key)
    key.ensure_kid()
    return key


def _write_new(path: Path, text: str) -> bool:
    """Writes ``path`` only if absent, durably: temp file, fsync, hard link, fsync of the folder.

    The link is atomic and fails if another process won the race, so two instances starting
    together end up sharing one key instead of each keeping its own. Returns whether we wrote it.
    """
    folder = path.parent
    temporary = folder / f".{path.name}.{new_id()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    folder_descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_descriptor)
    finally:
        os.close(folder_descriptor)
    return True


def load_or_create_instance_key(path: Path) -> InstanceKey:
    """The key signing the instance's tokens; created (Ed25519, file 0o600, folder 0o700) once."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        parameters: KeyParameters = {"use": "sig", "alg": "Ed25519"}
        key = OKPKey.generate_key("Ed25519", parameters=parameters, auto_kid=True)
        if _write_new(path, json.dumps(key.as_dict(private=True), indent=2) + "\n"):
            return key
    return _import(path, path.read_text(encoding="utf-8"))


def instance_jwks(key: InstanceKey) -> dict[str, list[dict[str, object]]]:
    """The public half, for whoever wants to check the instance's tokens without the file."""
    public: dict[str, object] = dict(key.as_dict(private=False))
    public.setdefault("use", "sig")
    public.setdefault("alg", instance_algorithm(key))
    return {"keys": [public]}


def _sign(key: InstanceKey, claims: dict[str, object], ttl_seconds: int) -> str:
    if ttl_seconds <= 0:
        raise Invalid(
            "La durée de validité d'un jeton doit être positive.",
            "A token's lifetime must be positive.",
            code="token_ttl_invalid",
        )
    issued_at = int(clock.now().timestamp())
    algorithm = instance_algorithm(key)
    payload = {
        "iss": INSTANCE_ISSUER,
        **claims,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": new_id(),
    }
    header = {"alg": algorithm, "kid": key.kid}
    return jwt.encode(header, payload, key, algorithms=[algorithm])


def issue_pro_token(
    key: InstanceKey,
    *,
    rpps: str,
    profession: str,
    specialty: str | None,
    level: AuthLevel,
    ttl_seconds: int,
) -> str:
    id_nat_ps = filed_id_nat_ps(rpps)
    if not profession.strip():
        raise Invalid(
            "Le code profession est obligatoire.",
            "The profession code is required.",
            code="profession_missing",
        )
    exercice = {"codeProfession": profession.strip(), "codeSavoirFaire": specialty or ""}
    claims: dict[str, object] = {
        "sub": id_nat_ps,
        "SubjectNameID": id_nat_ps,
        "SubjectRefPro": {"exercices": [exercice]},
        "acr": LEVEL_ACRS[level],
        KIND_CLAIM: KIND_PRO,
    }
    return _sign(key, claims, ttl_seconds)


def issue_patient_token(key: InstanceKey, *, ins: str, ttl_seconds: int) -> str:
    if not INS_PATTERN.fullmatch(ins):
        raise Invalid(
            "Matricule INS mal formé (15 caractères attendus).",
            "Malformed INS (15 characters expected).",
            code="ins_invalid",
        )
    return _sign(key, {"sub": ins, KIND_CLAIM: KIND_PATIENT}, ttl_seconds)
