"""URL map of the console."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from dtconsole.access.views import no_access
from dtconsole.accounts.language import set_language
from dtconsole.accounts.views import home, home_providers
from dtconsole.monitoring.views import healthz, metrics


class FaviconView(RedirectView):
    """/favicon.ico, which some clients ask for whatever the page links: the linked icon."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.svg")


urlpatterns = [
    path("", home, name="home"),
    path("dashboard/providers/", home_providers, name="home_providers"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("login/", include("dtconsole.accounts.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", set_language, name="set_language"),
    path("directory/", include("dtconsole.directory.urls")),
    path("providers/", include("dtconsole.providers.urls")),
    path("sync/", include("dtconsole.sync.urls")),
    path("audit/", include("dtconsole.audit.urls")),
    path("notifications/", include("dtconsole.notifications.urls")),
    path("users/", include("dtconsole.access.urls")),
    path("no-access/", no_access, name="no_access"),
    path("api/", include("dtconsole.api.urls")),
    path("django-admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", login_not_required(FaviconView.as_view()), name="favicon"),
]
