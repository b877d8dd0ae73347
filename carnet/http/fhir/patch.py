"""JSON Patch (RFC 6902) on a DocumentReference's metadata, limited to what PDSm lets change:
``status``, ``securityLabel`` and the ``isArchived`` extension. Anything else answers 405."""

from __future__ import annotations

import copy
from typing import Any

from carnet.errors import Invalid, NotSupported
from carnet.http.fhir import codes
from carnet.records.acts import MetadataChange
from carnet.records.confidentiality import flags_of

ALLOWED_ROOTS = ("status", "securityLabel", "extension")


def _not_supported(path: str) -> NotSupported:
    return NotSupported(
        f"Seuls status, securityLabel et isArchived peuvent être modifiés (chemin refusé : {path}).",
        f"Only status, securityLabel and isArchived may be changed (path refused: {path}).",
    )


def _tokens(path: str) -> list[str]:
    if not path.startswith("/"):
        raise Invalid(f"Chemin JSON Patch invalide : {path}.", f"Invalid JSON Patch path: {path}.")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _parent(document: Any, tokens: list[str]) -> tuple[Any, str]:
    target = document
    for token in tokens[:-1]:
        target = target[int(token)] if isinstance(target, list) else target[token]
    return target, tokens[-1]


def apply(resource: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    patched = copy.deepcopy(resource)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("path", ""), str):
            raise Invalid(
                "Chaque opération JSON Patch est un objet avec op et path.",
                "Each JSON Patch operation is an object with op and path.",
                code="bad_patch",
            )
        kind, path = op.get("op"), str(op.get("path", ""))
        tokens = _tokens(path)
        if tokens[0] not in ALLOWED_ROOTS or kind in ("move", "copy"):
            raise _not_supported(path)
        if tokens[0] == "extension" and len(tokens) > 1 and tokens[1].isdigit():
            extensions = patched.get("extension", [])
            index = int(tokens[1])
            if index < len(extensions) and extensions[index].get("url") != codes.IS_ARCHIVED:
                raise _not_supported(path)
        try:
            parent, key = _parent(patched, tokens)
            if kind == "test":
                current = parent[int(key)] if isinstance(parent, list) else parent.get(key)
                if current != op.get("value"):
                    raise Invalid(
                        "Le test JSON Patch a échoué.",
                        "JSON Patch test failed.",
                        code="patch_test_failed",
                    )
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    position = len(parent) if key == "-" else int(key)
                    if kind == "add":
                        parent.insert(position, op["value"])
                    else:
                        parent[position] = op["value"]
                else:
                    parent[key] = op["value"]
            elif kind == "remove":
                if isinstance(parent, list):
                    del parent[int(key)]
                else:
                    del parent[key]
            else:
                raise Invalid(
                    f"Opération JSON Patch inconnue : {kind}.", f"Unknown JSON Patch op: {kind}."
                )
        except (KeyError, IndexError, ValueError, TypeError):
            raise Invalid(
                f"Chemin JSON Patch introuvable : {path}.", f"JSON Patch path not found: {path}."
            ) from None
    if [e for e in patched.get("extension", []) if e.get("url") != codes.IS_ARCHIVED] != [
        e for e in resource.get("extension", []) if e.get("url") != codes.IS_ARCHIVED
    ]:
        raise _not_supported("/extension")
    return patched


def change_between(before: dict[str, Any], after: dict[str, Any]) -> MetadataChange:
    def labels(resource: dict[str, Any]) -> set[str]:
        return {
            c.get("code")
            for label in resource.get("securityLabel", [])
            for c in label.get("coding", [])
        }

    def archived(resource: dict[str, Any]) -> bool:
        return any(
            e.get("valueBoolean")
            for e in resource.get("extension", [])
            if e.get("url") == codes.IS_ARCHIVED
        )

    status = after.get("status")
    if status not in ("current", "superseded", "entered-in-error"):
        raise Invalid("Statut inconnu.", "Unknown status.", code="bad_status")
    if status != before.get("status") and status != "entered-in-error":
        raise _not_supported("/status")
    old, new = flags_of(labels(before)), flags_of(labels(after))
    return MetadataChange(
        deleted=True if status == "entered-in-error" and before.get("status") != status else None,
        masked=new.masked if new.masked != old.masked else None,
        invisible_patient=new.invisible_patient
        if new.invisible_patient != old.invisible_patient
        else None,
        invisible_representatives=new.invisible_representatives
        if new.invisible_representatives != old.invisible_representatives
        else None,
        archived=archived(after) if archived(after) != archived(before) else None,
    )
