"""The audit service: stores the audit records every unit produces, and
lets administrators query them."""

from ucloud.service import DATABASE, Service


class AuditService(Service):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit"
    features = (DATABASE,)
