"""django-q2 task entry points of the directory: thin adapters that take ids."""

from django.conf import settings
from django.utils import translation

from . import imports


def run_import(batch_id: int, language: str = "") -> None:
    """Run one queued CSV import (queued by ``imports.import_commit``), its outcome written in
    ``language`` (the one of the admin who started it; the default language without one)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        imports.import_run(batch_id)
