"""Admin curation of the question bank, models, endpoints, prompts, runs and imports."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from medexam.admin_forms import QuestionForm, option_letters
from medexam.importers import FORMATS, ReaderOptions
from medexam.importers.labels import NEAR_DUPLICATE_KINDS, field_label
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
from medexam.models.questions import OPTION_LETTERS
from medexam.question_checks import option_field
from medexam.services.endpoints import endpoint_test_connection
from medexam.services.imports import import_job_create, import_job_enqueue
from medexam.services.near_duplicates import near_duplicates_refresh_enqueue
from medexam.services.questions import (
    question_create,
    question_save,
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
    readonly_fields = ("changed_at", "user", "field_label", "old_value", "new_value", "reason")
    fields = readonly_fields
    verbose_name = _("change")
    verbose_name_plural = _("history")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("field"))
    def field_label(self, change: QuestionChange) -> str:
        return question_field_label(change.field)


def question_field_label(name: str) -> str:
    """Return the translated label of a Question field as recorded in QuestionChange.field."""
    try:
        return str(Question._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


class SuggestionFilter(admin.SimpleListFilter):
    title = _("specialty suggestion")
    parameter_name = "suggestion"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("suggested, not confirmed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if self.value() == "pending":
            return queryset.filter(specialty__isnull=True, suggested_specialty__isnull=False)
        return queryset


class NearDuplicateFilter(admin.SimpleListFilter):
    title = _("near-duplicates")
    parameter_name = "near_duplicates"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("in a near-duplicate group")), ("no", _("no near-duplicate"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if self.value() == "yes":
            return queryset.filter(near_duplicate_group__isnull=False)
        if self.value() == "no":
            return queryset.filter(near_duplicate_group__isnull=True)
        return queryset


OPTION_FIELDS = {option_field(letter) for letter in OPTION_LETTERS}


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
        "near_duplicate_link",
    ]
    list_filter = [
        "specialty",
        SuggestionFilter,
        "level",
        "question_type",
        "status",
        "source",
        "validity",
        NearDuplicateFilter,
    ]
    # Substring search (icontains): Chinese has no spaces between words.
    search_fields = ["stem", "options", "source_id"]
    list_select_related = ["specialty", "suggested_specialty", "level"]
    readonly_fields = [
        "content_hash",
        "suggested_specialty",
        "validity",
        "validity_reasons",
        "near_duplicate_members",
    ]
    inlines = [QuestionChangeInline]
    actions = ["confirm_suggestion", "refresh_near_duplicates"]

    @admin.display(description=_("stem"))
    def short_stem(self, question: Question) -> str:
        return question.stem if len(question.stem) <= 60 else question.stem[:60] + "…"

    @admin.display(description=_("suggested specialty"))
    def suggestion(self, question: Question) -> str:
        if question.specialty_id or not question.suggested_specialty_id:
            return ""
        return str(question.suggested_specialty)

    @admin.display(description=_("near-duplicate group"), ordering="near_duplicate_group")
    def near_duplicate_link(self, question: Question) -> str:
        if question.near_duplicate_group is None:
            return ""
        label = _("group #%(group)s (similarity %(similarity).2f)") % {
            "group": question.near_duplicate_group,
            "similarity": question.near_duplicate_similarity or 0.0,
        }
        return format_html(
            '<a href="{}?near_duplicate_group__exact={}">{}</a>',
            reverse("admin:medexam_question_changelist"),
            question.near_duplicate_group,
            label,
        )

    @admin.display(description=_("near-duplicates"))
    def near_duplicate_members(self, question: Question) -> str:
        if question.near_duplicate_group is None:
            return _("none found")
        others = (
            Question.objects.filter(near_duplicate_group=question.near_duplicate_group)
            .exclude(pk=question.pk)
            .order_by("pk")
        )
        return format_html_join(
            "",
            '<div><a href="{}">#{}</a> {}</div>',
            (
                (reverse("admin:medexam_question_change", args=[other.pk]), other.pk, other.stem)
                for other in others
            ),
        )

    @admin.action(description=_("Confirm the suggested specialty"))
    def confirm_suggestion(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        count = questions_confirm_suggestion(
            question_ids=queryset.values_list("pk", flat=True), user_id=request.user.pk
        )
        self.message_user(request, _("%(count)d questions updated.") % {"count": count})

    @admin.action(description=_("Find near-duplicates again in the whole bank"))
    def refresh_near_duplicates(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        near_duplicates_refresh_enqueue()
        self.message_user(
            request,
            _("Near-duplicate search queued; reload this page in a minute to see the groups."),
        )

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

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [name for name in super().get_fields(request, obj) if name not in OPTION_FIELDS]
        # The option fields go straight after the stem, one per letter the question needs.
        position = fields.index("stem") + 1
        fields[position:position] = [option_field(letter) for letter in option_letters(obj)]
        return fields

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        if change:
            question_save(
                question=obj,
                user_id=request.user.pk,
                reason=form.cleaned_data.get("change_reason", ""),
            )
        else:
            question_create(question=obj, user_id=request.user.pk)


@admin.register(QuestionChange)
class QuestionChangeAdmin(admin.ModelAdmin):
    list_display = ["question", "field_label", "user", "changed_at", "reason"]
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

    @admin.display(description=_("field"), ordering="field")
    def field_label(self, change: QuestionChange) -> str:
        return question_field_label(change.field)


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
        "near_duplicate_count",
        "created_at",
    ]
    list_filter = ["status", "file_format", "dry_run"]
    # The two JSON reports are shown as readable lists instead of raw JSON.
    readonly_fields = [
        *(
            field.name
            for field in ImportJob._meta.fields
            if field.name not in ("errors", "near_duplicates")
        ),
        "rejected_rows",
        "near_duplicate_groups",
    ]

    @admin.display(description=_("progress"))
    def progress(self, job: ImportJob) -> str:
        return f"{job.rows_done} / {job.rows_total or '?'}"

    @admin.display(description=_("near-duplicate groups"))
    def near_duplicate_count(self, job: ImportJob) -> int:
        return len(job.near_duplicates or [])

    @admin.display(description=_("rejected rows"))
    def rejected_rows(self, job: ImportJob) -> str:
        return format_html_join(
            "", "<div>{}</div>", ((self._error_text(error),) for error in job.errors or [])
        )

    def _error_text(self, error: dict[str, Any]) -> str:
        values = {
            "line": error.get("line"),
            "field": field_label(str(error.get("field", ""))),
            "reason": error.get("reason", ""),
        }
        if error.get("line"):
            return _("line %(line)s, %(field)s: %(reason)s") % values
        # Line 0 marks a problem with the whole file, such as a missing header.
        return _("%(field)s: %(reason)s") % values

    @admin.display(description=_("near-duplicates"))
    def near_duplicate_groups(self, job: ImportJob) -> str:
        return format_html_join(
            "", "<div>{}</div>", ((self._group_html(group),) for group in job.near_duplicates or [])
        )

    def _group_html(self, group: dict[str, Any]) -> str:
        kind = NEAR_DUPLICATE_KINDS.get(str(group.get("kind")), group.get("kind"))
        lines = ", ".join(str(line) for line in group.get("lines") or [])
        text = _("%(kind)s: lines %(lines)s") % {"kind": kind, "lines": lines}
        if "similarity" in group:
            text += _(", similarity %(similarity).2f") % {"similarity": group["similarity"]}
        links = format_html_join(
            " ",
            '<a href="{}">#{}</a>',
            (
                (reverse("admin:medexam_question_change", args=[question_id]), question_id)
                for question_id in group.get("question_ids") or []
            ),
        )
        return format_html("{} {}", text, links)

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
