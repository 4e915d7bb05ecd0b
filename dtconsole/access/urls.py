"""Console users and their roles (namespace ``access``)."""

from django.urls import path

from . import views

app_name = "access"
urlpatterns = [
    path("", views.user_list, name="user_list"),
    path("<int:pk>/role/", views.user_set_role, name="user_set_role"),
    path("<int:pk>/active/", views.user_set_active, name="user_set_active"),
]
