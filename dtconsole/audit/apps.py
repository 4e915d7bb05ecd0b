from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dtconsole.audit"
    label = "audit"
