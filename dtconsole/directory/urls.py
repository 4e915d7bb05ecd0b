"""URLs of the directory pages (namespace ``directory``)."""

from django.urls import path

from . import views
from .import_urls import urlpatterns as import_urlpatterns

app_name = "directory"
urlpatterns = [
    path("", views.org_tree, name="org_tree"),
    path("orgs/new/", views.org_create, name="org_create"),
    path("orgs/lookup/", views.org_lookup, name="org_lookup"),
    path("orgs/<int:pk>/", views.org_detail, name="org_detail"),
    path("orgs/<int:pk>/children/", views.org_children, name="org_children"),
    path("orgs/<int:pk>/edit/", views.org_edit, name="org_edit"),
    path("orgs/<int:pk>/move/", views.org_move, name="org_move"),
    path("orgs/<int:pk>/delete/", views.org_delete, name="org_delete"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/disable/", views.account_disable, name="account_disable"),
    path("accounts/<int:pk>/enable/", views.account_enable, name="account_enable"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("accounts/<int:pk>/memberships/add/", views.membership_add, name="membership_add"),
    path(
        "memberships/<int:pk>/primary/",
        views.membership_set_primary,
        name="membership_set_primary",
    ),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
] + import_urlpatterns
