"""ucloud-kit: write services as Django apps, run them together or apart.

A service declares its calls in ``api.py``, implements them in ``rpc.py`` and
is called through its descriptions, whatever process it runs in::

    from apps.accounts.api import AccountDescriptions
    me = AccountDescriptions.whoami.call({}, client)

The modules of this package each hold one concept; see ``README.md``.
"""
