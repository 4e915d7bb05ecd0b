"""CSV import pages: upload, preview every row, commit, and the sample files.

Thin views: the work (decoding, checking, writing) is ``dtconsole.directory.imports``.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dtconsole.access import roles
from dtconsole.access.decorators import page_requires

from . import imports
from .models import ImportBatch

PREVIEW_PAGE_SIZE = 500
RECENT_BATCHES = 10


class ImportUploadForm(forms.Form):
    """What the file holds and the file itself."""

    kind = forms.ChoiceField(
        label=gettext_lazy("The file holds"),
        choices=ImportBatch.Kind.choices,
        initial=ImportBatch.Kind.ACCOUNTS,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8 (Excel “CSV UTF-8”) or GB18030; the first line names the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


@page_requires(roles.CHANGE_DIRECTORY)
def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form; a good file becomes a batch and the browser goes to its preview."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = imports.import_upload(
                request.user,
                kind=form.cleaned_data["kind"],
                filename=upload.name,
                data=upload.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("directory:import_preview", pk=batch.pk)
    context = {
        "form": form,
        "column_help": [
            (kind, label, imports.COLUMN_HELP[kind]) for kind, label in ImportBatch.Kind.choices
        ],
        "recent": ImportBatch.objects.select_related("uploaded_by").defer("content")[
            :RECENT_BATCHES
        ],
        "max_rows": settings.DIRECTORY_IMPORT_MAX_ROWS,
        "max_size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    }
    return render(request, "directory/import_upload.html", context)


def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored check of a batch, a page of rows (bad rows first) and what the import
    would remove from DingTalk; while its job runs, its progress; once done, the result."""
    batch = get_object_or_404(ImportBatch.objects.defer("content"), pk=pk)
    if batch.status == ImportBatch.Status.COMMITTED:
        return render(request, "directory/import_result.html", {"batch": batch})
    try:
        imports.import_checked(batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("directory:import")
    only_bad = request.GET.get("show") == "bad"
    rows = batch.checked_rows.all()
    if only_bad:
        rows = rows.filter(is_bad=True)
    counts, columns = batch.checked["counts"], batch.checked["columns"]
    found = imports.import_consequences(batch)
    page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "batch": batch,
        "columns": columns,
        "counts": counts,
        "is_valid": bool(counts["rows"]) and not counts["bad"],
        "page": page,
        "shown": [(row, row.shown_cells(columns)) for row in page.object_list],
        "only_bad": only_bad,
        "consequences": found,
        "removes": any(c.removes for c in found),
        "polling": batch.is_active,
    }
    return render(request, "directory/import_preview.html", context)


def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Partial: the import job's progress; it polls only while the job is queued or running,
    and a poll that finds it finished reloads the page (the result, or the failure)."""
    batch = get_object_or_404(ImportBatch.objects.defer("content"), pk=pk)
    response = render(
        request, "directory/_import_status.html", {"batch": batch, "polling": batch.is_active}
    )
    if request.GET.get("poll") and not batch.is_active:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the import job; the preview page then shows its progress."""
    batch = get_object_or_404(ImportBatch, pk=pk)
    try:
        imports.import_commit(request.user, batch)
    except imports.ImportRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The import has started; this page shows its progress until it is done.")
        )
    return redirect("directory:import_preview", pk=batch.pk)


def import_sample(request: HttpRequest, kind: str) -> FileResponse:
    """A sample CSV of ``kind`` to start from (the same file the page documents)."""
    if kind not in ImportBatch.Kind.values:
        raise Http404(_("There is no sample of that kind."))
    path = finders.find(f"samples/{kind}.csv")
    if not path:
        raise Http404(_("The sample file is missing."))
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=f"{kind}.csv",
        content_type="text/csv; charset=utf-8",
    )
