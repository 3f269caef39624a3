"""Deliberately bad example code that the ``ucloud.checks`` tests check.

Nothing here is installed or imported at run time by the project: the
import examples are only parsed (``services/``), the models live in a
private app registry (``relations``). The split-safety report's planted
cases are marked SPLIT (``services/shop``: checkout, handlers, api,
processors)::

    check_service_imports(sources=services.example_sources())
    check_cross_service_relations(model_classes=relations.SHOP_AND_BILLING, services=...)
    atomic_calls(services.example_sources(), unit_of={"shop": "shop", "billing": "billing"})
"""
