"""Who is calling: bearer tokens, checked before any door builds a RequestContext.

Two issuers are trusted: the instance itself (``carnet token``, automation, tests) and, when
configured, one OpenID Connect issuer for pros (Pro Santé Connect). Everything else is refused
with a :class:`carnet.errors.Unauthenticated` that says why, in French and in English.
"""
