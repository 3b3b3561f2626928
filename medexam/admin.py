"""Admin curation of the question bank, models, endpoints, prompts, runs and imports."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from medexam.importers import FORMATS, ReaderOptions
from medexam.importers.validate import Defaults
from medexam.models import (
    DatasetVersion,
    Endpoint,
    EvaluationRun,
    ImportJob,
    LanguageModel,
    Level,
    PromptTemplate,
    Question,
    QuestionChange,
    Specialty,
    ValidityRuleSet,
)
from medexam.services.endpoints import endpoint_test_connection
from medexam.services.imports import import_job_create, import_job_enqueue
from medexam.services.questions import (
    question_changes_record,
    question_snapshot,
    questions_confirm_suggestion,
    questions_set_field,
)


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "rank"]


class QuestionChangeInline(admin.TabularInline):
    model = QuestionChange
    extra = 0
    can_delete = False
    readonly_fields = ("changed_at", "user", "field", "old_value", "new_value", "reason")
    fields = readonly_fields
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class QuestionForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the answer key changes; kept in the question's history."),
    )

    class Meta:
        model = Question
        fields = [
            "stem",
            "options",
            "answer_key",
            "question_type",
            "explanation",
            "specialty",
            "level",
            "status",
            "source",
            "source_id",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        key_changed = self.instance.pk and "answer_key" in self.changed_data
        if key_changed and not cleaned.get("change_reason", "").strip():
            self.add_error("change_reason", _("Give a reason for changing the answer key."))
        return cleaned


class SuggestionFilter(admin.SimpleListFilter):
    title = _("specialty suggestion")
    parameter_name = "suggestion"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("suggested, not confirmed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if self.value() == "pending":
            return queryset.filter(specialty__isnull=True, suggested_specialty__isnull=False)
        return queryset


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionForm
    list_display = [
        "id",
        "short_stem",
        "question_type",
        "specialty",
        "suggestion",
        "level",
        "status",
        "validity",
        "source",
    ]
    list_filter = [
        "specialty",
        SuggestionFilter,
        "level",
        "question_type",
        "status",
        "source",
        "validity",
    ]
    # Substring search (icontains): Chinese has no spaces between words.
    search_fields = ["stem", "options", "source_id"]
    list_select_related = ["specialty", "suggested_specialty", "level"]
    readonly_fields = ["content_hash", "suggested_specialty", "validity", "validity_reasons"]
    inlines = [QuestionChangeInline]
    actions = ["confirm_suggestion"]

    @admin.display(description=_("stem"))
    def short_stem(self, question: Question) -> str:
        return question.stem if len(question.stem) <= 60 else question.stem[:60] + "…"

    @admin.display(description=_("suggested specialty"))
    def suggestion(self, question: Question) -> str:
        if question.specialty_id or not question.suggested_specialty_id:
            return ""
        return str(question.suggested_specialty)

    @admin.action(description=_("Confirm the suggested specialty"))
    def confirm_suggestion(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        count = questions_confirm_suggestion(
            question_ids=queryset.values_list("pk", flat=True), user_id=request.user.pk
        )
        self.message_user(request, _("%(count)d questions updated.") % {"count": count})

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # One action per target value: specialties and levels are rows, not code.
        for specialty in Specialty.objects.all():
            name = f"set_specialty_{specialty.pk}"
            label = _("Set specialty: %(name)s") % {"name": specialty.name_zh}
            actions[name] = (self._bulk_action("specialty_id", specialty.pk), name, label)
        for level in Level.objects.all():
            name = f"set_level_{level.pk}"
            label = _("Set level: %(name)s") % {"name": level.name_zh}
            actions[name] = (self._bulk_action("level_id", level.pk), name, label)
        for value, status_label in Question.Status.choices:
            name = f"set_status_{value}"
            label = _("Set status: %(name)s") % {"name": status_label}
            actions[name] = (self._bulk_action("status", value), name, label)
        return actions

    def _bulk_action(self, field: str, value: object) -> Any:
        def action(model_admin: Any, request: HttpRequest, queryset: QuerySet[Question]) -> None:
            count = questions_set_field(
                question_ids=queryset.values_list("pk", flat=True),
                field=field,
                value=value,
                user_id=request.user.pk,
            )
            model_admin.message_user(request, _("%(count)d questions updated.") % {"count": count})

        return action

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        before = question_snapshot(Question.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        question_changes_record(
            question=obj,
            before=before,
            user_id=request.user.pk,
            reason=form.cleaned_data.get("change_reason", ""),
        )


@admin.register(QuestionChange)
class QuestionChangeAdmin(admin.ModelAdmin):
    list_display = ["question", "field", "user", "changed_at", "reason"]
    list_filter = ["field"]
    search_fields = ["question__stem", "reason"]
    readonly_fields = [
        "question",
        "user",
        "changed_at",
        "field",
        "old_value",
        "new_value",
        "reason",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    list_display = ["name", "family", "architecture", "total_params_b", "active_params_b"]
    list_filter = ["architecture", "is_reasoning", "family"]
    search_fields = ["name", "family"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "model", "kind", "base_url", "served_model_id", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "served_model_id"]
    actions = ["test_connection"]

    @admin.action(description=_("Test connection (one tiny chat completion)"))
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            result = endpoint_test_connection(endpoint_id=endpoint.pk)
            if result.ok:
                self.message_user(
                    request,
                    _("%(name)s: answered in %(ms)d ms (%(detail)s)")
                    % {"name": endpoint.name, "ms": result.latency_ms, "detail": result.message},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("%(name)s: failed after %(ms)d ms: %(detail)s")
                    % {"name": endpoint.name, "ms": result.latency_ms, "detail": result.message},
                    messages.ERROR,
                )


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "created_at"]
    search_fields = ["name"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "model", "endpoint", "prompt_template", "status", "created_at"]
    list_filter = ["status", "model"]
    search_fields = ["name"]


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("question file"))
    file_format = forms.ChoiceField(
        label=_("format"),
        required=False,
        choices=[("", _("guess from the file name"))] + [(name, name) for name in FORMATS],
    )
    dry_run = forms.BooleanField(label=_("dry run (store nothing)"), required=False)
    encoding = forms.CharField(label=_("encoding"), required=False, help_text="utf-8, gb18030")
    columns = forms.CharField(
        label=_("columns"),
        required=False,
        help_text=_("For files without a header, e.g. -,stem,A,B,C,D,E,answer"),
    )
    specialty = forms.CharField(label=_("default specialty code"), required=False)
    level = forms.CharField(label=_("default level code"), required=False)
    source = forms.CharField(label=_("source"), required=False)


@admin.register(ValidityRuleSet)
class ValidityRuleSetAdmin(admin.ModelAdmin):
    list_display = ["name", "min_reviews", "min_item_agreement", "min_flag_share", "created_at"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    """Read-only view of dataset versions, which are requested on the datasets page.

    A version that is not published (pending, building or failed) may be
    deleted one at a time. A published version may not be changed or deleted.
    """

    list_display = ["__str__", "status", "item_count", "content_hash", "created_by", "created_at"]
    list_filter = ["status", "name"]
    search_fields = ["name", "content_hash"]
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in DatasetVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status == DatasetVersion.Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "source_name",
        "file_format",
        "dry_run",
        "status",
        "progress",
        "created_count",
        "unchanged_count",
        "duplicate_count",
        "rejected_count",
        "created_at",
    ]
    list_filter = ["status", "file_format", "dry_run"]
    readonly_fields = [field.name for field in ImportJob._meta.fields]

    @admin.display(description=_("progress"))
    def progress(self, job: ImportJob) -> str:
        return f"{job.rows_done} / {job.rows_total or '?'}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="medexam_importjob_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Save an uploaded question file and queue its import (run inline without a broker)."""
        if not self.has_view_permission(request) or not request.user.has_perm(
            "medexam.add_question"
        ):
            return redirect("admin:index")
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            folder = Path(settings.MEDIA_ROOT) / "imports"
            folder.mkdir(parents=True, exist_ok=True)
            # A random prefix keeps two uploads of one file name apart.
            target = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
            with target.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            data = form.cleaned_data
            try:
                job = import_job_create(
                    path=target,
                    file_format=data["file_format"],
                    dry_run=data["dry_run"],
                    reader_options=ReaderOptions(
                        encoding=data["encoding"].strip(),
                        columns=data["columns"].split(",") if data["columns"] else [],
                    ),
                    defaults=Defaults(
                        specialty=data["specialty"].strip(),
                        level=data["level"].strip(),
                        source=data["source"].strip() or Path(upload.name).stem,
                    ),
                    user_id=request.user.pk,
                )
            except ValueError as exc:
                form.add_error("file_format", str(exc))
            else:
                import_job_enqueue(job_id=job.pk)
                self.message_user(
                    request, _("Import job %(id)s queued.") % {"id": job.pk}, messages.SUCCESS
                )
                return redirect(reverse("admin:medexam_importjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.opts}
        return TemplateResponse(request, "admin/medexam/importjob/upload.html", context)
