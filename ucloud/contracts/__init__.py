"""The contract layer: what a service's ``api.py`` imports, and nothing more.

Calls (``calls``), their HTTP bindings (``bindings``), roles and access
(``roles``), pages (``pages``), the error types both sides raise
(``errors``) and declared errors (``declared_errors``). These modules import
nothing else of the kit, so a contract loads without the RPC machinery::

    from ucloud.contracts.calls import CallDescriptionContainer, call
    from ucloud.contracts.errors import NotFound
"""
