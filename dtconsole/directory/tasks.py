"""django-q2 task entry points of the directory: thin adapters that take ids."""

from . import imports


def run_import(batch_id: int) -> None:
    """Run one queued CSV import (queued by ``imports.import_commit``)."""
    imports.import_run(batch_id)
