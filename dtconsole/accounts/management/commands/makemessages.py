"""Django's makemessages, with ``--keyword`` for the project's own translation markers.

``make messages`` runs it as ``makemessages --keyword=N_``: ``N_`` marks a string that is
translated where it is shown, and xgettext must collect it like ``gettext_noop``.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--keyword",
            action="append",
            default=[],
            help="An extra xgettext keyword (a function name, or xgettext's NAME:ARGS form). "
            "Use several times for several keywords.",
        )

    def handle(self, *args, **options):
        # An instance attribute: call_command may run this command class more than once.
        self.xgettext_options = makemessages.Command.xgettext_options + [
            f"--keyword={keyword}" for keyword in options["keyword"]
        ]
        super().handle(*args, **options)
