"""Count the events recorded before the totals existed, so the metric starts from them."""

from django.db import migrations
from django.db.models import Count, Max


def count_existing(apps, schema_editor):
    SyncEvent = apps.get_model("sync", "SyncEvent")
    ObjectTotal = apps.get_model("monitoring", "ObjectTotal")
    CountedJob = apps.get_model("monitoring", "CountedJob")
    groups = (
        SyncEvent.objects.values_list("object_type", "action", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    ObjectTotal.objects.bulk_create(
        ObjectTotal(object_type=kind, action=action, status=status, total=n)
        for kind, action, status, n in groups
    )
    last = SyncEvent.objects.values_list("job_id").annotate(last=Max("id")).order_by()
    CountedJob.objects.bulk_create(
        (CountedJob(job_id=job_id, last_event_id=event_id) for job_id, event_id in last),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_totals"), ("sync", "0007_worker_heartbeat")]

    operations = [migrations.RunPython(count_existing, migrations.RunPython.noop)]
