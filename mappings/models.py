"""Field mappings: how an account's attributes become a DingTalk user's fields."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FieldMapping(models.Model):
    """One DingTalk field of a provider's users and where its value comes from.

    ``target`` is the field identity: the DingTalk field name (``work_place``), or the key of
    a custom attribute inside DingTalk's ``extension`` object when ``is_extension`` is set. It
    is unique per provider. The pure engine in ``mappings.engine`` evaluates these rows.
    """

    class SourceKind(models.TextChoices):
        ATTRIBUTE = "attribute", _("Account attribute")
        EXPRESSION = "expression", _("Expression")
        CONSTANT = "constant", _("Constant")

    class Apply(models.TextChoices):
        ALWAYS = "always", _("Always")
        CREATE_ONLY = "create_only", _("On create only")

    provider = models.ForeignKey(
        "providers.IdentityProvider", on_delete=models.CASCADE, related_name="field_mappings"
    )
    target = models.CharField(_("field identity"), max_length=64)
    display_name = models.CharField(_("field name"), max_length=64, blank=True, default="")
    is_extension = models.BooleanField(_("extension attribute"), default=False)
    source_kind = models.CharField(
        _("source"), max_length=16, choices=SourceKind.choices, default=SourceKind.ATTRIBUTE
    )
    source = models.CharField(_("value"), max_length=500, blank=True, default="")
    apply = models.CharField(_("apply"), max_length=16, choices=Apply.choices, default=Apply.ALWAYS)
    default = models.CharField(_("default when empty"), max_length=200, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        constraints = [
            models.UniqueConstraint(fields=["provider", "target"], name="mapping_unique_target"),
        ]

    def __str__(self) -> str:
        return f"{self.target} ← {self.source}"
