"""Sync job and sync event pages (filled by the sync engine issue)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def job_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sync/job_list.html")


def event_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sync/event_list.html")
