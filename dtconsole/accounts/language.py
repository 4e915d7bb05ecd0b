"""The interface language: the header's 中文 / English switch, remembered per console user.

Who decides, first match wins:

1. a logged-in user's saved choice (``UserPreference.language``), on every page;
2. Django's LocaleMiddleware: the language cookie the switch sets (anonymous visitors on the
   login page too), then the browser's Accept-Language, then ``LANGUAGE_CODE``.

The REST API never uses the saved choice: API clients say what they want in Accept-Language.
The saved choice is read once per session (at login) and kept in the session, so a page costs
no extra query.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views import i18n
from django.views.decorators.http import require_POST

from .models import UserPreference

#: The session's copy of the user's saved language ("" when the user chose none).
SESSION_KEY = "dtconsole_language"


def user_language_set(user, language: str) -> None:
    """Save ``language`` (one of settings.LANGUAGES) as ``user``'s interface language."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"not a console language: {language!r}")
    UserPreference.objects.update_or_create(user=user, defaults={"language": language})


def user_language(user) -> str:
    """``user``'s saved interface language, or "" when none was chosen."""
    saved = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    return saved if saved in dict(settings.LANGUAGES) else ""


@receiver(user_logged_in, dispatch_uid="dtconsole.accounts.language")
def _remember_on_login(sender, request, user, **kwargs) -> None:
    # Every way in (password, DingTalk QR code logon, a test's force_login) reads it once here.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = user_language(user)


class UserLanguageMiddleware:
    """Activate the logged-in user's saved language; place it after AuthenticationMiddleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if "api" in request.resolver_match.namespaces or not request.user.is_authenticated:
            return
        if SESSION_KEY not in request.session:  # a session from before the preference existed
            request.session[SESSION_KEY] = user_language(request.user)
        language = request.session[SESSION_KEY]
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()


@login_not_required  # the switch is on the login page too
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: a cookie for this browser (Django's ``set_language``,
    which also checks that ``next`` stays on this site) and, once logged in, the user's
    saved choice."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_set(request.user, language)
        request.session[SESSION_KEY] = language
    return response
