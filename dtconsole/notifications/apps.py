from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "dtconsole.notifications"
    label = "notifications"
