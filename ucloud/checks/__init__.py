"""System checks of the kit: the rules that keep services apart (``ucloud.E0xx``).

One module per concern; each check is a small function registered with
Django under the ``ucloud`` tag. Called without arguments it checks the
project; its keyword arguments take explicit inputs instead, which is how
the tests provoke each error::

    python manage.py check --tag ucloud
    check_route_collisions(calls=[Shop.create, Shop.add])   # [Error(... ucloud.E006)]

| id | module | what is wrong |
|---|---|---|
| E001 | calls | a call is implemented by more than one controller method |
| E002 | calls | a call of an installed service is never implemented |
| E003 | imports | a service imports another service's modules other than its ``api`` |
| E004 | models | a model relation (FK, one-to-one, many-to-many) crosses services |
| E005 | topology | ``UCLOUD["SERVICES"]`` names a service that is not installed |
| E006 | calls | two calls are bound to the same HTTP method and path |
| E007 | calls | calls sharing a path are implemented by different controllers |
| E008 | databases | a service's code names another service's database alias |
| E009 | databases | a model relation points at a non-service app kept in another database |
| E010 | ``ucloud.secret_settings`` | DEBUG is off and a secret key is weak |
| E011 | contracts | the code breaks a contract of ``contracts.lock`` (``check --deploy``) |
| W011 | contracts | there is no readable ``contracts.lock`` (``check --deploy``) |
| E020 | ``ucloud.locks.checks`` | process-local locks in a deployment of several processes |
| W030 | search | a service's search document is indexed by no processor |
| W040 | workers | a broker is set, but not the kit's Celery worker consumer |
"""

from __future__ import annotations

from ucloud.checks.calls import (
    check_duplicate_implementations,
    check_route_collisions,
    check_route_controllers,
    check_unimplemented_calls,
)
from ucloud.checks.contracts import check_contracts_lock
from ucloud.checks.databases import check_cross_database_relations, check_service_databases
from ucloud.checks.imports import ServiceSource, check_service_imports
from ucloud.checks.models import check_cross_service_relations
from ucloud.checks.search import check_documents_indexed
from ucloud.checks.topology import check_served_services
from ucloud.checks.workers import check_worker_consumer

__all__ = [
    "ServiceSource",
    "check_contracts_lock",
    "check_cross_database_relations",
    "check_cross_service_relations",
    "check_documents_indexed",
    "check_duplicate_implementations",
    "check_route_collisions",
    "check_route_controllers",
    "check_served_services",
    "check_service_databases",
    "check_service_imports",
    "check_unimplemented_calls",
    "check_worker_consumer",
]
