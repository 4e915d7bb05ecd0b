from django.urls import path

from . import views

app_name = "sync"
urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("events/", views.event_list, name="event_list"),
]
