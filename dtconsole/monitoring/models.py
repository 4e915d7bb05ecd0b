"""Cumulative totals that /metrics reads: a few rows, however many calls and events there are."""

from django.db import models


class CallTotal(models.Model):
    """DingTalk HTTP attempts of every console process, per API path and errcode.

    Each process counts its client's calls in memory and adds them here in batches
    (``dtconsole.monitoring.calls``); ``seconds`` is time in the HTTP exchange,
    ``waited_seconds`` time spent in the client's pacer (the rate limit) before sending.
    """

    path = models.CharField(max_length=128)
    errcode = models.CharField(max_length=32)  # "0" for success
    calls = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    waited_seconds = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["path", "errcode"], name="calltotal_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.path} [{self.errcode}]: {self.calls}"


class ObjectTotal(models.Model):
    """Sync events of every job by object type, action and status.

    A job's events are added when it ends or stops for approval (``dtconsole.monitoring.
    tallies``), so the metric never scans the events table.
    """

    object_type = models.CharField(max_length=16)
    action = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    total = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "action", "status"], name="objecttotal_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.action} {self.status}: {self.total}"


class CountedJob(models.Model):
    """How far a job's events are in ObjectTotal: a job stopped for approval is counted
    again when it ends, and only its newer events are added."""

    job = models.OneToOneField(
        "sync.SyncJob", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_event_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"job {self.job_id} counted up to event {self.last_event_id}"
