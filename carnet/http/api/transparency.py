"""The transparency log's JSON (TR-3, INTERFACES.md): signed tree heads, the log's key,
consistency proofs — public, hashes only — and a trace's inclusion proof, for who may read that
patient's history. Byte strings are base64; ``carnet verify-proof`` checks what these return."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from carnet.http.deps import AnyCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.transparency import service

router = PrefixedRouter(prefix="/api/v1", tags=["transparency"], route_class=OneHop)


class HeadOut(BaseModel):
    """RFC 9162 ``TreeHeadDataV2`` and its Ed25519 signature; ``timestamp`` in milliseconds."""

    tree_size: int
    root_hash: str
    timestamp: int
    key_id: str
    signature: str


class KeyOut(BaseModel):
    """``public_key``: SubjectPublicKeyInfo (DER); ``key_id``: its SHA-256 (RFC 6962 LogID)."""

    algorithm: str
    key_id: str
    public_key: str


class ConsistencyOut(BaseModel):
    kind: str
    first: int
    second: int
    consistency_path: list[str]
    first_head: HeadOut | None
    second_head: HeadOut | None


class TraceContentOut(BaseModel):
    """The trace as its chain hashed it: ``hash = SHA-256(prev_hash + "\\n" + canonical)``; its
    leaf is ``SHA-256(0x00 || HMAC-SHA256(salt, hash))``."""

    canonical: str
    prev_hash: str
    hash: str
    salt: str


class InclusionOut(BaseModel):
    kind: str
    trace_id: str
    leaf_index: int
    tree_size: int
    inclusion_path: list[str]
    trace: TraceContentOut
    head: HeadOut


@router.get("/transparency/head", response_model=HeadOut)
def head(rt: RuntimeDep) -> HeadOut:
    """The latest signed tree head."""
    return HeadOut(**service.current_head(rt).to_json())


@router.get("/transparency/key", response_model=KeyOut)
def key(rt: RuntimeDep) -> KeyOut:
    """The public key that signs tree heads."""
    return KeyOut(**service.log_key(rt.settings).to_json())


@router.get("/transparency/consistency", response_model=ConsistencyOut)
def consistency(
    rt: RuntimeDep,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> ConsistencyOut:
    """RFC 9162 §2.1.4: the tree of ``second`` leaves extends the tree of ``first``."""
    return ConsistencyOut.model_validate(service.consistency(rt, first, second).to_json())


@router.get("/patients/{patient_id}/history/{trace_id}/proof", response_model=InclusionOut)
def trace_proof(rt: RuntimeDep, ctx: AnyCtx, patient_id: str, trace_id: str) -> InclusionOut:
    """RFC 9162 §2.1.3: this history line is in the log, under the latest signed head."""
    return InclusionOut.model_validate(service.trace_proof(rt, ctx, patient_id, trace_id).to_json())
