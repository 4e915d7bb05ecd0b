"""Re-encrypt every stored AppSecret with the first key of CREDENTIALS_KEY."""

from django.core.management.base import BaseCommand
from django.db import transaction

from dtconsole.providers import crypto
from dtconsole.providers.models import IdentityProvider


class Command(BaseCommand):
    help = (
        "Key rotation: with CREDENTIALS_KEY=new,old, re-encrypt every stored secret with the "
        "new key; afterwards the old key can be removed."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        count = 0
        for provider in IdentityProvider.objects.select_for_update().exclude(
            app_secret_encrypted=""
        ):
            provider.app_secret_encrypted = crypto.rotate(provider.app_secret_encrypted)
            provider.save(update_fields=["app_secret_encrypted"])
            count += 1
        self.stdout.write(f"Re-encrypted {count} secret(s) with the first CREDENTIALS_KEY key.")
