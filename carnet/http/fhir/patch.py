"""JSON Patch (RFC 6902) — or JSON Merge Patch (RFC 7386), what generic clients such as fhirpy
send — on a DocumentReference's metadata, limited to what PDSm lets change: ``status``,
``securityLabel`` and the ``isArchived`` extension. Anything else answers 405."""

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


#: Extensions Carnet computes (never the client's to change, nor to drop by sending the rest).
COMPUTED_EXTENSIONS = frozenset({codes.IS_ARCHIVED, codes.UPLOADER})


def _other_extensions(resource: dict[str, Any]) -> list[Any]:
    return [
        e
        for e in resource.get("extension", [])
        if not isinstance(e, dict) or e.get("url") not in COMPUTED_EXTENSIONS
    ]


def apply(resource: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    patched = copy.deepcopy(resource)
    for op in operations:
        if (
            not isinstance(op, dict)
            or not isinstance(op.get("op"), str)
            or not isinstance(op.get("path", ""), str)
        ):
            raise Invalid(
                "Chaque opération JSON Patch est un objet avec « op » et « path ».",
                "Each JSON Patch operation is an object with « op » and « path ».",
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
    _unchanged_outside(resource, patched)
    return patched


def _merged(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge member by member, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merged(result.get(key), value)
    return result


def merge(resource: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON Merge Patch (what fhirpy's ``patch()`` sends: the fields to change, as an object)."""
    if patch.get("resourceType", resource["resourceType"]) != resource["resourceType"]:
        raise Invalid(
            "Patch FHIRPath (Parameters) non pris en charge : JSON Patch ou JSON Merge Patch.",
            "FHIRPath Patch (Parameters) is not supported: JSON Patch or JSON Merge Patch.",
            code="bad_patch",
        )
    patched: dict[str, Any] = _merged(resource, patch)
    _unchanged_outside(resource, patched)
    return patched


def _unchanged_outside(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Nothing but status, securityLabel and isArchived changed (405 naming what did)."""
    for key in sorted(set(before) | set(after)):
        if key not in ALLOWED_ROOTS and key != "meta" and before.get(key) != after.get(key):
            raise _not_supported(f"/{key}")
    if any(e not in _other_extensions(before) for e in _other_extensions(after)):
        raise _not_supported("/extension")


def change_between(before: dict[str, Any], after: dict[str, Any]) -> MetadataChange:
    def labels(resource: dict[str, Any]) -> set[str]:
        return {
            c.get("code")
            for label in resource.get("securityLabel", [])
            for c in label.get("coding", [])
        }

    def archived(resource: dict[str, Any]) -> bool:
        return any(
            e.get("valueBoolean") is True
            for e in resource.get("extension", [])
            if isinstance(e, dict) and e.get("url") == codes.IS_ARCHIVED
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
