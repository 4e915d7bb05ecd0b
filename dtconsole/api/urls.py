"""URLs of the REST API (under /api/): the v1 viewsets, the OpenAPI schema and its docs."""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("providers", views.ProviderViewSet, basename="provider")
router.register(
    r"providers/(?P<provider_pk>[0-9]{1,18})/mappings",
    views.FieldMappingViewSet,
    basename="mapping",
)
router.register("imports", views.ImportViewSet, basename="import")
router.register("jobs", views.SyncJobViewSet, basename="job")
router.register("events", views.SyncEventViewSet, basename="event")

urlpatterns = [
    path("v1/", include(router.urls)),
    # Token clients get 401 from DRF rather than the console's login redirect. (DRF 3.16+
    # marks its views login_not_required itself; saying so here keeps that explicit.)
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    # A page for people: a visitor is sent to the login page, like everywhere in the console.
    path(
        "docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api:schema")),
        name="docs",
    ),
]
