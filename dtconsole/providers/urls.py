from django.urls import path

from . import views

app_name = "providers"
urlpatterns = [
    path("", views.provider_list, name="list"),
    path("bind/", views.wizard_step, name="bind"),
    path("<int:pk>/", views.provider_detail, name="detail"),
    path("<int:pk>/jobs/", views.provider_jobs, name="jobs"),
    path("<int:pk>/step/<int:step>/", views.wizard_step, name="wizard"),
    path("<int:pk>/settings/", views.provider_settings, name="settings"),
    path("<int:pk>/verify/", views.provider_verify, name="verify"),
    path("<int:pk>/sync/", views.provider_sync, name="sync"),
    path("<int:pk>/delete/", views.provider_delete, name="delete"),
    path("<int:pk>/department-name/", views.department_name, name="department_name"),
    path("<int:pk>/scope-preview/", views.scope_preview, name="scope_preview"),
    path("org-search/", views.org_search, name="org_search"),
    path("<int:pk>/mapping-preview/", views.mapping_preview, name="mapping_preview"),
]
