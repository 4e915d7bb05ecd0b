"""URLs of the notification pages (namespace ``notifications``)."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("providers/<int:pk>/", views.notification_settings, name="settings"),
    path("providers/<int:pk>/recipients/", views.recipient_search, name="recipient_search"),
    path("<int:pk>/delivery/", views.check_delivery, name="check_delivery"),
]
