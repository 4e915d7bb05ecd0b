"""Pagination of API lists: numbered pages for the directory, id cursors for the big tables."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination

ID_MAX = 2**63 - 1


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M`` (at most 500 a page)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class IdCursorPagination(CursorPagination):
    """Newest first by id, with opaque ``next``/``previous`` cursors.

    Each page is one ``WHERE id < x ORDER BY id DESC LIMIT n`` query: no OFFSET and no COUNT,
    so a page costs the same at a million rows as at a hundred.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request) -> Cursor | None:
        """DRF's cursor, refused (404) unless its position is an id: the cursor is opaque but
        comes from the client, and DRF passes the position to the query unchecked."""
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor else None
        valid = position is None or (position.isascii() and position.isdigit())
        if not valid or int(position or 0) > ID_MAX:
            raise NotFound(self.invalid_cursor_message)
        return cursor
