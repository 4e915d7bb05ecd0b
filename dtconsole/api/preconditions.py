"""Optimistic concurrency for a provider's configuration over HTTP: ETag and If-Match.

Every answer about a provider's configuration (the provider, its scopes, its field
mappings) carries ``ETag: "provider-<id>-v<config_version>"``. Every write to that
configuration must send it back in ``If-Match``: without one the answer is 428 Precondition
Required, with one that is not the stored version 412 Precondition Failed (nothing is
written; the answer carries the current ETag and what changed since). The services check the
version again with the provider row locked, so of two writes made from the same version
exactly one succeeds. ``If-Match: *`` is refused like a missing header: a write must say
which version it was made from.
"""

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.request import Request

from dtconsole.providers.models import IdentityProvider

ETAG_RE = re.compile(r'^"provider-(\d{1,18})-v(\d{1,18})"$')


def etag(provider: IdentityProvider) -> str:
    """The strong entity tag of the provider's configuration version."""
    return f'"provider-{provider.pk}-v{provider.config_version}"'


class PreconditionRequired(exceptions.APIException):
    """A write to a provider's configuration came without If-Match (428)."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _(
        "Send the ETag of the configuration you changed in If-Match (GET it first), so that "
        "a change someone else saved meanwhile is not overwritten."
    )
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    """If-Match names no version of this provider's configuration (412)."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "If-Match does not name this provider's current configuration: GET it again, then "
        "make the change from what it holds now."
    )
    default_code = "precondition_failed"

    def __init__(self, provider: IdentityProvider) -> None:
        super().__init__()
        self.etag = etag(provider)


def expected_version(request: Request, provider: IdentityProvider) -> int:
    """The configuration version the write was made from, read from If-Match.

    428 without If-Match (or with ``*``); 412 when none of its tags is one of this
    provider's. The current version is returned when If-Match lists it among others.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        raise PreconditionRequired()
    versions = []
    for tag in (t.strip() for t in header.split(",")):
        match = ETAG_RE.match(tag)  # weak tags (W/"…") never match: If-Match compares strongly
        if match and int(match.group(1)) == provider.pk:
            versions.append(int(match.group(2)))
    if not versions:
        raise PreconditionFailed(provider)
    return provider.config_version if provider.config_version in versions else versions[0]


# --- how the schema says it ------------------------------------------------------------------

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        'The ETag of the configuration this change was made from, e.g. "provider-7-v12" '
        "(from a GET or the previous write). Missing: 428; not the current version: 412."
    ),
)


def etag_header(*codes: int) -> OpenApiParameter:
    """The ETag response header, documented on the answers with status ``codes``."""
    return OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=list(codes),
        description=(
            'The provider\'s configuration version, e.g. "provider-7-v12"; it changes with '
            "any change to the application, scenario, scopes, field mappings or sync "
            "settings. Send it back in If-Match."
        ),
    )


ERROR_412 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "{detail, changes}: If-Match is not the current version; nothing was written. The "
        "ETag header holds the current version, ``changes`` what was saved since."
    ),
)
ERROR_428 = OpenApiResponse(
    OpenApiTypes.OBJECT, description="{detail}: the write came without If-Match."
)
