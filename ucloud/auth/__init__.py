"""The auth layer: who is calling, and the proof of it.

Principals (``principal``), key pairs (``keys``), JWTs (``tokens``), the
tokens a caller presents (``credentials``), the callee's check
(``authentication``) and login throttling (``throttling``). It builds on
the contracts and the kit's base (settings, registry, serving) only::

    from ucloud.auth.tokens import mint_access_token
    from ucloud.auth.authentication import authenticate
"""
