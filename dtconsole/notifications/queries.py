"""Read-side questions about notifications: freshness, the interval, this month's count."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from dtconsole.providers.models import IdentityProvider
from dtconsole.sync.models import SyncJob, UserLink

from .models import Notification, NotificationSettings

Outcome = Notification.Outcome
# DingTalk counts its monthly quota by the calendar month in Beijing time (§5).
QUOTA_ZONE = ZoneInfo("Asia/Shanghai")
RECIPIENT_MATCHES = 20
RECENT = 50
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def settings_for(provider: IdentityProvider) -> NotificationSettings:
    """The provider's settings, or unsaved defaults when nobody saved any yet."""
    found = NotificationSettings.objects.filter(provider=provider).first()
    return found or NotificationSettings(provider=provider)


@dataclass(frozen=True)
class Freshness:
    """Since when the provider has gone without a successful full sync."""

    since: datetime
    synced: bool  # False: never, ``since`` is when it was bound


def freshness(provider: IdentityProvider) -> Freshness:
    """The end of the provider's last completed full sync, or its binding when none."""
    last = SyncJob.completed_full(provider).aggregate(last=Max("finished_at"))["last"]
    return Freshness(last, True) if last else Freshness(provider.created_at, False)


def stale_told(provider: IdentityProvider, since: datetime) -> bool:
    """Whether a stale notification went out (or is going out) since ``since``: once per
    stretch without a successful full sync, not every interval."""
    return Notification.objects.filter(
        provider=provider,
        kind=Notification.Kind.PROVIDER_STALE,
        outcome__in=(Outcome.SENT, Outcome.PENDING),
        created_at__gte=since,
    ).exists()


def recent_attempt(provider: IdentityProvider, kind: str, minutes: int, now: datetime) -> bool:
    """Whether the console tried to tell ``kind`` about ``provider`` within ``minutes``
    (a suppressed one does not count: it was not an attempt)."""
    return (
        Notification.objects.filter(
            provider=provider, kind=kind, created_at__gt=now - timedelta(minutes=minutes)
        )
        .exclude(outcome=Outcome.SUPPRESSED)
        .exists()
    )


def stale_since(
    provider: IdentityProvider, conf: NotificationSettings, now: datetime
) -> Freshness | None:
    """The provider's freshness when it is past its window and nobody was told since; else
    None (no window, not bound, fresh, or told already)."""
    if not conf.freshness_hours or provider.step != IdentityProvider.Step.DONE:
        return None
    fresh = freshness(provider)
    if now - fresh.since < timedelta(hours=conf.freshness_hours):
        return None
    return None if stale_told(provider, fresh.since) else fresh


def stale_due(now: datetime) -> list[int]:
    """Providers past their freshness window, not told yet, and outside the interval."""
    enabled = NotificationSettings.objects.filter(
        enabled=True, freshness_hours__gt=0, provider__step=IdentityProvider.Step.DONE
    ).select_related("provider")
    kind = Notification.Kind.PROVIDER_STALE
    return [
        conf.provider_id
        for conf in enabled
        if stale_since(conf.provider, conf, now) is not None
        and not recent_attempt(conf.provider, kind, conf.min_interval_minutes, now)
    ]


def month_start(now: datetime | None = None) -> datetime:
    """The start of DingTalk's quota month (Beijing time) that ``now`` falls in."""
    local = (now or timezone.now()).astimezone(QUOTA_ZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def sent_this_month(provider: IdentityProvider) -> int:
    """Work notifications DingTalk accepted from this provider's app this quota month."""
    return Notification.objects.filter(
        provider=provider,
        channel=Notification.Channel.DINGTALK,
        outcome=Outcome.SENT,
        sent_at__gte=month_start(),
    ).count()


def last_quota_refusal(provider: IdentityProvider) -> Notification | None:
    """This month's latest DingTalk attempt, when DingTalk answered it with 90020."""
    last = (
        Notification.objects.filter(
            provider=provider,
            channel=Notification.Channel.DINGTALK,
            created_at__gte=month_start(),
            outcome__in=(Outcome.SENT, Outcome.QUOTA_EXHAUSTED, Outcome.FAILED),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    return last if last is not None and last.outcome == Outcome.QUOTA_EXHAUSTED else None


def recent(provider: IdentityProvider) -> QuerySet[Notification]:
    """The provider's latest notifications, newest first."""
    return Notification.objects.filter(provider=provider).select_related("job")[:RECENT]


def recipient_matches(provider: IdentityProvider, query: str) -> list[UserLink]:
    """Linked DingTalk users of the provider whose name, username or userid contains
    ``query``: the people a notification can reach."""
    term = query.strip()
    if not term:
        return []
    links = UserLink.objects.filter(provider=provider).filter(
        Q(display_name__icontains=term) | Q(username__icontains=term) | Q(userid__icontains=term)
    )
    return list(links.order_by("display_name", "userid")[:RECIPIENT_MATCHES])


def recipient_names(provider: IdentityProvider, userids: list[str]) -> list[tuple[str, str]]:
    """(userid, the linked account's name or "") for each chosen userid, in order."""
    names = dict(
        UserLink.objects.filter(provider=provider, userid__in=userids).values_list(
            "userid", "display_name"
        )
    )
    return [(userid, names.get(userid, "")) for userid in userids]


def email_configured() -> bool:
    """Whether this console can send email: EMAIL_HOST is set, or another backend than
    SMTP is configured (console, file, a test's locmem)."""
    return bool(settings.EMAIL_HOST) or settings.EMAIL_BACKEND != SMTP_BACKEND
