"""Identity provider pages (the Bind DingTalk wizard arrives with the provider issue)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def provider_list(request: HttpRequest) -> HttpResponse:
    return render(request, "providers/list.html")
