"""URLs of the sync pages (namespace ``sync``)."""

from django.urls import path

from . import views

app_name = "sync"
urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/rows/", views.job_rows, name="job_rows"),
    path("jobs/start/", views.job_start, name="job_start"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/status/", views.job_status, name="job_status"),
    path("jobs/<int:pk>/approve/", views.job_approve, name="job_approve"),
    path("jobs/<int:pk>/reject/", views.job_reject, name="job_reject"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("events/", views.event_list, name="event_list"),
    path(
        "objects/<str:object_type>/<int:source_id>/",
        views.object_timeline,
        name="object_timeline",
    ),
    path(
        "objects/<str:object_type>/<int:source_id>/repush/",
        views.object_repush,
        name="object_repush",
    ),
    path("objects/user/<int:source_id>/link/", views.link_user, name="link_user"),
    path(
        "providers/<int:provider_id>/pending/",
        views.pending_list,
        name="pending_list",
    ),
    path(
        "providers/<int:provider_id>/dingtalk/",
        views.dingtalk_view,
        name="dingtalk_view",
    ),
]
