from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "dtconsole.sync"
    label = "sync"
