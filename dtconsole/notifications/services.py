"""Named services for notifications: their settings, and telling people about trouble.

``notification_settings_update`` and ``notification_check_delivery`` act for a console user:
they check the permission first and write the audit entry. ``notify_job`` and
``notify_stale`` run on a worker (``dtconsole.notifications.tasks``) as the console itself:
each decides under a lock on the provider's settings whether the event may be told (at most
one attempt per provider and kind within the interval; the rest are recorded as
suppressed), records one row per channel, and only then, outside any transaction, calls
DingTalk or the mail server and records the outcome.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from connectors.dingtalk.errors import DingTalkError, QuotaExhausted
from dtconsole.access import roles
from dtconsole.access.services import require
from dtconsole.audit.services import audit_record
from dtconsole.providers.models import IdentityProvider
from dtconsole.providers.services import ProviderError, provider_client
from dtconsole.sync.models import SyncJob, UserLink
from dtconsole.sync.texts import N_, Text, stored

from . import compose, queries
from .models import Notification, NotificationSettings

log = logging.getLogger(__name__)
Kind, Channel, Outcome = Notification.Kind, Notification.Channel, Notification.Outcome

SETTINGS_FIELDS = (
    "enabled",
    "dingtalk_userids",
    "emails",
    "freshness_hours",
    "min_interval_minutes",
    "language",
)
# DingTalk's older documentation allows 100 userids per send; stay within both versions.
MAX_DINGTALK_RECIPIENTS = 100
MAX_EMAIL_RECIPIENTS = 50

SUPPRESSED = N_(
    "Not sent: a notification of this kind went out less than %(minutes)s minutes earlier "
    "(the minimum interval of this provider's notification settings)."
)
QUOTA_EXHAUSTED = N_(
    "Quota exhausted: DingTalk answered %(code)s, the organisation's monthly API call quota "
    "is used up. Work notifications count against it (5,000 calls a month on the standard "
    "edition); address-book sync does not and keeps working. No work notification can be "
    "sent until the quota starts again next month, or until more calls are bought in the "
    "DingTalk developer console; email notifications still go out."
)
DINGTALK_REFUSED = N_("DingTalk refused the message: %(error)s %(hint)s")
MAIL_REFUSED = N_("The email could not be sent: %(error)s")
INTERNAL_ERROR = N_("Not sent: an internal error (see the worker log).")


class NotificationError(Exception):
    """A refused notification action, with a sentence that says why."""


class StaleNotificationSettings(NotificationError):
    """The change was made from an older version of the settings than the stored one:
    someone else saved in between. Nothing was written; ``current`` is what is stored."""

    def __init__(self, current: NotificationSettings, expected: int | None) -> None:
        self.current = current
        self.expected = expected
        super().__init__(
            _(
                "Someone else saved these notification settings after this change was "
                "prepared (version %(expected)s, now %(current)s), so it was not saved. Look "
                "at the current values and make the change again if it is still needed."
            )
            % {"expected": "?" if expected is None else expected, "current": current.version}
        )


# --- settings -------------------------------------------------------------------------------


@transaction.atomic
def notification_settings_update(
    actor, provider: IdentityProvider, data: Mapping[str, Any], *, version: int | None = None
) -> NotificationSettings:
    """Change the provider's notification settings; absent fields are kept.

    ``version`` is the settings version the change was made from (None: unchecked); an
    older one raises ``StaleNotificationSettings``. DingTalk recipients must be userids the
    provider's sync linked to directory accounts; a ValidationError names each refused field.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    current = _locked(provider, version)
    before = settings_audit(current)
    for name in SETTINGS_FIELDS:
        if name in data:
            setattr(current, name, data[name])
    current.dingtalk_userids = _unique(current.dingtalk_userids)
    current.emails = _unique(current.emails)
    _validate(provider, current)
    current.version += 1
    current.save()
    audit_record(
        actor,
        "notifications.update_settings",
        provider,
        before=before,
        after=settings_audit(current),
    )
    return current


def _locked(provider: IdentityProvider, version: int | None) -> NotificationSettings:
    """The provider's settings row, created when missing, locked until the transaction ends."""
    NotificationSettings.objects.get_or_create(provider=provider)
    current = NotificationSettings.objects.select_for_update().get(provider=provider)
    if version is not None and current.version != version:
        raise StaleNotificationSettings(current, version)
    return current


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))


def _validate(provider: IdentityProvider, conf: NotificationSettings) -> None:
    errors: dict[str, list[str]] = {}
    try:
        conf.clean_fields(exclude=["provider", "dingtalk_userids", "emails"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if conf.language not in {"", *(code for code, _name in settings.LANGUAGES)}:
        errors["language"] = [_("Choose one of the console's languages.")]
    for field, problem in (
        ("dingtalk_userids", _recipient_problem(provider, conf.dingtalk_userids)),
        ("emails", _email_problem(conf.emails)),
    ):
        if problem:
            errors[field] = [problem]
    if conf.enabled and not (conf.dingtalk_userids or conf.emails):
        errors.setdefault("dingtalk_userids", []).append(
            _("Choose at least one recipient to switch notifications on.")
        )
    if errors:
        raise ValidationError(errors)


def _recipient_problem(provider: IdentityProvider, userids: list[str]) -> str:
    if len(userids) > MAX_DINGTALK_RECIPIENTS:
        return _("At most %(n)d DingTalk recipients.") % {"n": MAX_DINGTALK_RECIPIENTS}
    linked = set(
        UserLink.objects.filter(provider=provider, userid__in=userids).values_list(
            "userid", flat=True
        )
    )
    unknown = [u for u in userids if u not in linked]
    if not unknown:
        return ""
    return ngettext(
        "%(userids)s is not the DingTalk userid of an account this provider synchronises: "
        "search for the person by name and pick them.",
        "%(userids)s are not DingTalk userids of accounts this provider synchronises: "
        "search for each person by name and pick them.",
        len(unknown),
    ) % {"userids": ", ".join(unknown)}


def _email_problem(emails: list[str]) -> str:
    if len(emails) > MAX_EMAIL_RECIPIENTS:
        return _("At most %(n)d email recipients.") % {"n": MAX_EMAIL_RECIPIENTS}
    bad = []
    for address in emails:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if not bad:
        return ""
    return _("Not an email address: %(addresses)s") % {"addresses": ", ".join(bad)}


def settings_audit(conf: NotificationSettings) -> dict[str, Any]:
    """The settings as an admin reads them, in the console's language (audit values)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "enabled": _("on") if conf.enabled else _("off"),
            "dingtalk_userids": list(conf.dingtalk_userids),
            "emails": list(conf.emails),
            "freshness_hours": (
                ngettext("%(n)d hour", "%(n)d hours", conf.freshness_hours)
                % {"n": conf.freshness_hours}
                if conf.freshness_hours
                else _("off")
            ),
            "min_interval_minutes": ngettext(
                "%(n)d minute", "%(n)d minutes", conf.min_interval_minutes
            )
            % {"n": conf.min_interval_minutes},
            "language": conf.language or _("console default"),
            "version": conf.version,
        }


# --- delivery result ------------------------------------------------------------------------


def notification_check_delivery(actor, notification: Notification) -> Notification:
    """Ask DingTalk who received a sent work notification (getsendresult) and keep its answer.

    One more call against the organisation's monthly quota, so it is made only on request.
    """
    require(actor, roles.MANAGE_PROVIDERS)
    if notification.channel != Channel.DINGTALK or not notification.task_id:
        raise NotificationError(_("Only a sent DingTalk work notification has a delivery result."))
    provider = notification.provider
    try:
        with provider_client(provider) as client:
            result = client.message_send_result(provider.agent_id, notification.task_id)
    except ProviderError as exc:
        raise NotificationError(str(exc)) from exc
    except DingTalkError as exc:
        raise NotificationError(_("DingTalk answered: %(s)s") % {"s": exc.sentence()}) from exc
    notification.send_result = {
        "delivered": result.delivered,
        "read": result.read,
        "invalid": result.invalid,
        "forbidden": result.forbidden,
        "failed": result.failed,
    }
    notification.result_checked_at = timezone.now()
    notification.save(update_fields=["send_result", "result_checked_at"])
    after = {"notification": notification.pk, "task_id": notification.task_id}
    audit_record(actor, "notifications.check_delivery", provider, after=after)
    return notification


# --- telling people (on a worker, as the console) -------------------------------------------

JOB_EVENTS = (Kind.JOB_FAILED, Kind.JOB_AWAITING_APPROVAL)


@dataclass(frozen=True)
class Decision:
    """What ``_decide`` recorded, and what to send for the rows still pending."""

    records: list[Notification]
    message: compose.Message | None = None
    language: str = ""


def notify_job(job_id: int, kind: str) -> list[Notification]:
    """Tell the provider's recipients that job ``job_id`` failed or awaits approval."""
    job = SyncJob.objects.select_related("provider").filter(pk=job_id).first()
    if job is None or kind not in JOB_EVENTS:
        return []
    return _notify(job.provider, kind, job)


def notify_stale(provider_id: int) -> list[Notification]:
    """Tell the provider's recipients it has had no successful full sync within its
    freshness window: once for each such stretch (re-checked here, under the lock)."""
    provider = IdentityProvider.objects.filter(pk=provider_id).first()
    if provider is None:
        return []
    return _notify(provider, Kind.PROVIDER_STALE, None)


def _notify(provider: IdentityProvider, kind: str, job: SyncJob | None) -> list[Notification]:
    decision = _decide(provider, kind, job)
    for record in decision.records:
        if record.outcome == Outcome.PENDING:
            _send(record, decision.message, decision.language)
    return decision.records


@transaction.atomic
def _decide(provider: IdentityProvider, kind: str, job: SyncJob | None) -> Decision:
    """Under the settings row's lock: whether to tell, the message, one row per channel."""
    conf = NotificationSettings.objects.select_for_update().filter(provider=provider).first()
    channels = _channels(conf) if conf is not None and conf.enabled else []
    if not channels:
        return Decision([])
    now = timezone.now()
    message = _message(provider, conf, kind, job, now)
    if message is None:
        return Decision([])
    outcome, detail = Outcome.PENDING, Text("")
    if queries.recent_attempt(provider, kind, conf.min_interval_minutes, now):
        outcome, detail = (
            Outcome.SUPPRESSED,
            Text(SUPPRESSED, {"minutes": conf.min_interval_minutes}),
        )
    records = [
        _record(provider, kind, job, channel, recipients, message, outcome, detail, now)
        for channel, recipients in channels
    ]
    return Decision(records, message, conf.language)


def _channels(conf: NotificationSettings) -> list[tuple[str, list[str]]]:
    channels = []
    if conf.dingtalk_userids:
        channels.append((Channel.DINGTALK, list(conf.dingtalk_userids)))
    if conf.emails and queries.email_configured():
        channels.append((Channel.EMAIL, list(conf.emails)))
    return channels


def _message(
    provider: IdentityProvider,
    conf: NotificationSettings,
    kind: str,
    job: SyncJob | None,
    now: datetime,
) -> compose.Message | None:
    """The message for the event, or None when a stale provider is not (or no longer) due."""
    if kind != Kind.PROVIDER_STALE:
        return compose.job_message(job, kind, now)
    fresh = queries.stale_since(provider, conf, now)
    if fresh is None:
        return None
    return compose.stale_message(provider, fresh.since, fresh.synced, conf.freshness_hours, now)


def _record(
    provider: IdentityProvider,
    kind: str,
    job: SyncJob | None,
    channel: str,
    recipients: list[str],
    message: compose.Message,
    outcome: str,
    detail: Text,
    now: datetime,
) -> Notification:
    title, title_args = stored(message.title)
    detail_msgid, detail_args = stored(detail)
    return Notification.objects.create(
        provider=provider,
        kind=kind,
        channel=channel,
        outcome=outcome,
        job=job,
        recipients=recipients,
        title=title,
        title_args=title_args,
        detail=detail_msgid,
        detail_args=detail_args,
        url=message.url,
        created_at=now,
    )


def _send(record: Notification, message: compose.Message, language: str) -> None:
    """Send one pending row's message and record what happened; never raises."""
    try:
        if record.channel == Channel.DINGTALK:
            _send_dingtalk(record, message, language)
        else:
            _send_email(record, message, language)
    except Exception:
        log.exception("notification %s could not be sent", record.pk)
        _refused(record, Outcome.FAILED, Text(INTERNAL_ERROR))
    record.save()


def _send_dingtalk(record: Notification, message: compose.Message, language: str) -> None:
    provider = record.provider
    msg = compose.dingtalk_msg(message, language)
    try:
        with provider_client(provider) as client:
            record.task_id = client.message_send(provider.agent_id, record.recipients, msg)
    except QuotaExhausted as exc:
        log.warning("DingTalk's monthly quota is used up (provider %s)", provider.pk)
        _refused(record, Outcome.QUOTA_EXHAUSTED, Text(QUOTA_EXHAUSTED, {"code": exc.errcode}), exc)
    except DingTalkError as exc:
        hint = {"msgid": exc.hint, "args": dict(exc.hint_args)}
        text = Text(DINGTALK_REFUSED, {"error": str(exc), "hint": hint})
        _refused(record, Outcome.FAILED, text, exc)
    except ProviderError as exc:  # the secret cannot be used (key, allowed hosts)
        _refused(record, Outcome.FAILED, str(exc))
    else:
        record.outcome, record.sent_at = Outcome.SENT, timezone.now()


def _send_email(record: Notification, message: compose.Message, language: str) -> None:
    subject, body = compose.email(message, language)
    try:
        send_mail(subject, body, None, record.recipients)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        _refused(record, Outcome.FAILED, Text(MAIL_REFUSED, {"error": str(exc)}))
    else:
        record.outcome, record.sent_at = Outcome.SENT, timezone.now()


def _refused(
    record: Notification, outcome: str, detail: Text | str, exc: DingTalkError | None = None
) -> None:
    record.outcome = outcome
    record.detail, record.detail_args = stored(detail)
    if exc is not None and exc.errcode is not None:
        record.errcode = str(exc.errcode)
