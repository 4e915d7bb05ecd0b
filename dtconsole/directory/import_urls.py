"""URLs of the CSV import pages (included by directory/urls.py, namespace ``directory``)."""

from django.urls import path

from . import import_views

urlpatterns: list = [
    path("import/", import_views.import_upload, name="import"),
    path("import/<int:pk>/", import_views.import_preview, name="import_preview"),
    path("import/<int:pk>/commit/", import_views.import_commit, name="import_commit"),
    path("import/<int:pk>/status/", import_views.import_status, name="import_status"),
    path("import/sample/<str:kind>.csv", import_views.import_sample, name="import_sample"),
]
