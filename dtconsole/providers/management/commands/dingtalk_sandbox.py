"""`python manage.py dingtalk_sandbox`: a thin wrapper around the sandbox CLI."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connectors.dingtalk.sandbox.cli import add_arguments, main


class Command(BaseCommand):
    """Run the local DingTalk-compatible sandbox (see connectors/dingtalk/sandbox)."""

    help = "Run the local DingTalk sandbox (oapi, api v1.0, web login, /_sandbox/ control API)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["--host", options["host"], "--port", str(options["port"])]
        argv += ["--qps", str(options["qps"])]
        if options["state"]:
            argv += ["--state", options["state"]]
        if options["demo"]:
            argv.append("--demo")
        main(argv)
