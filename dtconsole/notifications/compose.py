"""What a notification says: a title, paragraphs and a link, as texts a reader translates.

Every message names the provider and what happened, carries the job number or the time of
the check, and so differs from the one before: DingTalk silently drops a second identical
message to the same user on the same day (dingtalk-api.md §11).

DingTalk messages are ``action_card``: a title, a markdown body and one button that opens
the page. A ``link`` message shows only a line or two of plain text, and a ``markdown``
message has no button (its link is a small inline one); the card shows the whole error
and the way to the page. The link is also written in the body, where every client shows it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from dtconsole.providers.models import IdentityProvider
from dtconsole.sync.models import SyncJob
from dtconsole.sync.texts import N_, Text

from .models import Notification

Kind = Notification.Kind

OPEN_LABEL = N_("Open in dtconsole")


@dataclass(frozen=True)
class Message:
    """One notification's content, before it is put in a language."""

    title: Text
    paragraphs: tuple[Text, ...]
    url: str


def public_url(path: str) -> str:
    """``path`` on the console as DingTalk users reach it (PUBLIC_URL)."""
    return settings.PUBLIC_URL.rstrip("/") + path


def moment(at: datetime) -> str:
    """A time as every reader reads it, with its UTC offset: 2026-12-01 09:30:05 UTC+0800."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S UTC%z")


def _stored(msgid: str, args: dict) -> dict:
    """A stored text used as an argument of another (rendered with it, in its language)."""
    return {"msgid": msgid, "args": dict(args or {})}


def job_message(job: SyncJob, kind: str, now: datetime) -> Message:
    """A failed job, or one that stopped for approval."""
    at = moment(job.finished_at or now)
    args = {"job": job.pk, "provider": job.provider.name, "time": at}
    url = public_url(reverse("sync:job_detail", args=[job.pk]))
    reason = _stored(job.error, job.error_args)
    if kind == Kind.JOB_FAILED:
        title = Text(N_("Sync job #%(job)s of “%(provider)s” failed"), args)
        body = Text(
            N_("Sync job #%(job)s of “%(provider)s” failed at %(time)s: %(reason)s"),
            {**args, "reason": reason},
        )
    else:
        title = Text(N_("Sync job #%(job)s of “%(provider)s” awaits approval"), args)
        body = Text(
            N_(
                "Sync job #%(job)s of “%(provider)s” stopped at %(time)s and waits for an "
                "operator to approve or reject its deletions: %(reason)s"
            ),
            {**args, "reason": reason},
        )
    paragraphs = [body]
    if job.hint:
        paragraphs.append(
            Text(N_("What to do: %(hint)s"), {"hint": _stored(job.hint, job.hint_args)})
        )
    return Message(title, tuple(paragraphs), url)


def stale_message(
    provider: IdentityProvider, since: datetime, synced: bool, hours: int, now: datetime
) -> Message:
    """No successful full sync since ``since`` (the last one, or the binding when ``synced``
    is False), past the freshness window of ``hours``."""
    args = {"provider": provider.name, "hours": hours, "since": moment(since), "time": moment(now)}
    title = Text(N_("“%(provider)s” has had no successful full sync for %(hours)s hours"), args)
    if synced:
        body = N_(
            "The last successful full sync of “%(provider)s” finished at %(since)s, longer ago "
            "than the freshness window of %(hours)s hours (checked at %(time)s)."
        )
    else:
        body = N_(
            "“%(provider)s” has had no successful full sync since it was bound at %(since)s, "
            "longer ago than the freshness window of %(hours)s hours (checked at %(time)s)."
        )
    advice = Text(
        N_(
            "Check that a worker runs (manage.py qcluster) and look at the provider's recent "
            "jobs; a scheduled full sync needs a running worker."
        )
    )
    url = public_url(reverse("providers:detail", args=[provider.pk]))
    return Message(title, (Text(body, args), advice), url)


def _language(language: str) -> str:
    return language or settings.LANGUAGE_CODE


def dingtalk_msg(message: Message, language: str = "") -> dict:
    """The DingTalk ``action_card`` message object, in ``language`` (default: the console's)."""
    with translation.override(_language(language)):
        title, label = str(message.title), translation.gettext(OPEN_LABEL)
        lines = [f"### {title}", *(str(p) for p in message.paragraphs), f"[{label}]({message.url})"]
        return {
            "msgtype": "action_card",
            "action_card": {
                "title": title,
                "markdown": "\n\n".join(lines),
                "single_title": label,
                "single_url": message.url,
            },
        }


def email(message: Message, language: str = "") -> tuple[str, str]:
    """(subject, plain-text body) of the email, in ``language`` (default: the console's)."""
    with translation.override(_language(language)):
        body = [*(str(p) for p in message.paragraphs), message.url]
        return f"[dtconsole] {message.title}", "\n\n".join(body) + "\n"
