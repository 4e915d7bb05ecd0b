"""Start a full sync of a provider from the command line."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from dtconsole.access.services import SYSTEM
from dtconsole.providers.models import IdentityProvider
from dtconsole.sync.models import SyncJob
from dtconsole.sync.services import sync_job_enqueue


class Command(BaseCommand):
    help = "Queue a full sync of PROVIDER (its id, AppKey or display name); a worker runs it."

    def add_arguments(self, parser):
        parser.add_argument("provider")
        parser.add_argument("--dry-run", action="store_true", help="Plan only; write nothing.")
        parser.add_argument("--wait", action="store_true", help="Wait for the job to finish.")

    def handle(self, *args, provider: str, dry_run: bool, wait: bool, **options):
        match = Q(app_key=provider) | Q(name=provider)
        if provider.isdigit():
            match |= Q(pk=int(provider))
        found = list(IdentityProvider.objects.filter(match)[:2])
        if len(found) != 1:
            raise CommandError(f"No single provider matches “{provider}”: use its id or AppKey.")
        job = sync_job_enqueue(SYSTEM, found[0], kind="full", trigger="manual", dry_run=dry_run)
        self.stdout.write(f"Queued sync job #{job.pk} ({'dry run' if dry_run else 'full'}).")
        if wait:
            self._wait(job)

    def _wait(self, job: SyncJob) -> None:
        started = time.monotonic()
        while True:
            job.refresh_from_db()
            if job.status not in (SyncJob.Status.QUEUED, SyncJob.Status.RUNNING):
                break
            if job.status == SyncJob.Status.QUEUED and time.monotonic() - started > 15:
                self.stderr.write(
                    "Still queued: is a worker running? Start one: manage.py qcluster"
                )
                started = time.monotonic()
            time.sleep(1)
        self.stdout.write(f"Job #{job.pk}: {job.get_status_display()}. {job.error}".strip())
        self.stdout.write(f"Counters: {job.counters}")
        if job.status == SyncJob.Status.FAILED:
            raise CommandError(job.error or "the sync failed")
