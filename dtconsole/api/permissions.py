"""Who may call the API: any active user reads, only staff users write."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsActiveUser(BasePermission):
    """An authenticated, active user (token or session)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class IsStaffOrReadOnly(IsActiveUser):
    """Safe methods for any active user; every other method for staff users only."""

    message = _("Only staff users may change data through the API.")

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or bool(request.user.is_staff)
