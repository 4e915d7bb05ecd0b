from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "dtconsole.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django_q.signals import post_execute_in_worker

        from . import calls

        # A web request (wizard verification, QR logon) or a background task may make a few
        # DingTalk calls and then none for hours: add them to the totals when it ends.
        request_started.connect(calls.request_started, dispatch_uid="monitoring-calls-start")
        request_finished.connect(calls.request_finished, dispatch_uid="monitoring-calls-end")
        post_execute_in_worker.connect(calls.task_finished, dispatch_uid="monitoring-calls-task")
