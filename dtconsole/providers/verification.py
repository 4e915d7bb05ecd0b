"""Turn DingTalk's verification report into findings an admin can act on.

One finding per problem: what is wrong, what to click in the DingTalk developer console, and
the link DingTalk gave when it gave one.
"""

from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _

from connectors.dingtalk import scopes as dingtalk_scopes
from connectors.dingtalk.types import PermissionReport

DEVELOPER_CONSOLE = "https://open-dev.dingtalk.com/fe/app"


@dataclass(frozen=True)
class Finding:
    kind: str  # credentials | ip | permission | scope | other
    message: str
    action: str
    link: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def explain(report: PermissionReport, provider) -> list[Finding]:
    """Findings for every problem in ``report`` (empty when it passed)."""
    if not report.token_ok:
        return [_credentials_finding(report)]
    findings: list[Finding] = []
    if report.ip_blocked:
        findings.append(_ip_finding(report.seen_ip))
    findings += [_permission_finding(code, report, provider) for code in report.missing_scopes]
    if report.out_of_scope:
        findings.append(_scope_finding())
    known = report.ip_blocked or report.missing_scopes or report.out_of_scope
    if not report.ok and not known:
        findings += [
            Finding("other", m, _("Fix the problem above, then verify again."))
            for m in report.messages
        ]
    return findings


def _credentials_finding(report: PermissionReport) -> Finding:
    detail = " ".join(report.messages)
    return Finding(
        "credentials",
        _("DingTalk refused the AppKey and AppSecret. %(detail)s") % {"detail": detail},
        _(
            "In the DingTalk developer console open your app > Credentials and basic information "
            "(凭证与基础信息), copy the Client ID (AppKey) and Client Secret (AppSecret) again and "
            "enter them in step 1. Check the API base URL there too."
        ),
        DEVELOPER_CONSOLE,
    )


def _ip_finding(seen_ip: str | None) -> Finding:
    ip = seen_ip or _("this server's egress IP")
    return Finding(
        "ip",
        _(
            "DingTalk refused the call because it came from %(ip)s, which is not in the app's "
            "server egress IP allow-list."
        )
        % {"ip": ip},
        _(
            "In the developer console open your app > Development configuration > Security "
            "settings (安全设置) > Server egress IP (服务器出口IP), add %(ip)s and save."
        )
        % {"ip": ip},
        DEVELOPER_CONSOLE,
    )


def _permission_finding(code: str, report: PermissionReport, provider) -> Finding:
    link = next((u for u in report.apply_urls if code in u), "")
    if not link:
        link = f"https://open-dev.dingtalk.com/appscope/apply?content={provider.app_key}%23{code}"
    return Finding(
        "permission",
        _("The app lacks the permission %(scope)s.") % {"scope": dingtalk_scopes.describe(code)},
        _(
            "Open the link (or your app > Permission management (权限管理)), search for %(code)s, "
            "click Apply (申请权限) and wait until it shows as granted."
        )
        % {"code": code},
        link,
    )


def _scope_finding() -> Finding:
    return Finding(
        "scope",
        _("The target department is outside the app's address-book scope (通讯录权限范围)."),
        _(
            "In your app > Permission management, set the permission scope to All employees "
            "(全部员工), or to a scope that contains the departments you will synchronise."
        ),
        DEVELOPER_CONSOLE,
    )
