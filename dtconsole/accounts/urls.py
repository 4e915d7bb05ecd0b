"""DingTalk QR code logon, mounted under /login/."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("dingtalk/<int:provider_id>/start/", views.dingtalk_start, name="dingtalk_start"),
    path("dingtalk/callback/", views.dingtalk_callback, name="dingtalk_callback"),
]
