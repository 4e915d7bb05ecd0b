"""Errors of the services as API answers.

Django's ``ValidationError`` (the services' field errors) becomes DRF's 400 with field
messages; a refused directory or provider change becomes 400 ``{"detail": ...}``; a refused
job action, or a provider whose AppSecret cannot be used, becomes 409; a change made from an
older configuration version becomes 412 with the current ETag and what changed since; a
refused bulk upsert answers 400 with every item's errors (index, field, message); a missing
role is 403 with ``required_role``. Everything else is DRF's default handling.
"""

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from dtconsole.access.services import AccessDenied
from dtconsole.api.preconditions import PreconditionFailed, etag
from dtconsole.directory.services import DirectoryError
from dtconsole.directory.upsert import ITEM_FIELDS, UpsertRefused
from dtconsole.providers.presenters import configuration_changes
from dtconsole.providers.services import ProviderError, SecretUnavailable, StaleConfiguration
from dtconsole.sync.services import SyncError


class Conflict(exceptions.APIException):
    """The object is not in a state that allows the action (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The object is not in a state that allows this action.")
    default_code = "conflict"


NON_FIELD = "non_field_errors"


@dataclass(frozen=True)
class ItemError:
    """One problem of one item of a bulk request: its index, the field, the message."""

    index: int
    field: str
    message: str


class BulkError(Exception):
    """A refused bulk upsert; nothing was written."""

    def __init__(self, errors: Sequence[ItemError]):
        self.errors = sorted(errors, key=lambda e: e.index)
        count = len({e.index for e in self.errors})
        super().__init__(gettext("%(n)d item(s) have errors; nothing was written.") % {"n": count})

    @classmethod
    def refused(cls, exc: UpsertRefused) -> "BulkError":
        """The upsert's row errors as item errors (a row's number is the item's index)."""
        return cls(
            [
                ItemError(e.row, ITEM_FIELDS.get(e.column, e.column) or NON_FIELD, e.message)
                for e in exc.errors
            ]
        )


def errors_from_serializer(errors: Any) -> list[ItemError]:
    """ItemErrors from a ``many=True`` serializer's errors: per item (a list, or a dict keyed
    by index), or about the whole request (index -1: not a list, empty, too long)."""
    per_item = dict(enumerate(errors)) if isinstance(errors, list) else errors
    if not all(isinstance(index, int) for index in per_item):
        return [ItemError(-1, NON_FIELD, m) for m in _messages(errors)]
    return [
        ItemError(index, str(name), message)
        for index, item in per_item.items()
        for name, value in (item.items() if isinstance(item, dict) else [(NON_FIELD, item)])
        for message in _messages(value)
    ]


def _messages(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for inner in value.values():
            yield from _messages(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _messages(inner)
    else:
        yield str(value)


def validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """Django's field errors in DRF's shape: field -> messages, non-field errors under
    DRF's ``non_field_errors`` key."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
        for field, messages in exc.message_dict.items()
    }


def as_api_exception(exc: Exception) -> Exception:
    """The DRF exception a service's error stands for (or ``exc`` itself)."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(validation_detail(exc))
    if isinstance(exc, SecretUnavailable):
        return Conflict(str(exc))
    if isinstance(exc, DirectoryError | ProviderError):
        return exceptions.ValidationError({"detail": str(exc)})
    if isinstance(exc, SyncError):
        return Conflict(str(exc))
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after translating the services' errors."""
    if isinstance(exc, UpsertRefused):
        exc = BulkError.refused(exc)
    if isinstance(exc, BulkError):
        body = {"detail": str(exc), "errors": [asdict(e) for e in exc.errors]}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, AccessDenied):
        body = {"detail": exc.sentence(), "required_role": exc.role.key}
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, StaleConfiguration):
        return stale_response(exc)
    response = drf_exception_handler(as_api_exception(exc), context)
    if isinstance(exc, PreconditionFailed) and response is not None:
        response["ETag"] = exc.etag
    return response


def stale_response(exc: StaleConfiguration) -> Response:
    """412: the change was made from an older version; the current ETag and what changed."""
    changes = [c.as_dict() for c in configuration_changes(exc.provider, exc.expected)]
    body = {"detail": str(exc), "changes": changes}
    response = Response(body, status=status.HTTP_412_PRECONDITION_FAILED)
    response["ETag"] = etag(exc.provider)
    return response
