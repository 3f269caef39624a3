"""Events: streams declared in ``api.py``, an outbox in the producer's
transaction, Redis Streams consumer groups, processors in Celery workers.

The modules, each depending only on those before it: ``streams`` (and the
``outbox`` it writes to), ``processors``, ``delivery``, ``broker`` (Redis
Streams), ``leases``, ``consumer``, ``eager``, ``background``, ``relay``,
``lag``, ``tasks`` and ``worker``. A service imports what it declares with::

    from ucloud.events.streams import Event, EventStream
    from ucloud.events.processors import processor
"""
