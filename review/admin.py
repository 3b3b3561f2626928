"""Admin of reviewers, assignments, reviews and adjudications, by pseudonym."""

from __future__ import annotations

from django.contrib import admin

from review.models import Adjudication, Assignment, Review, Reviewer


@admin.register(Reviewer)
class ReviewerAdmin(admin.ModelAdmin):
    list_display = ["pseudonym", "user", "is_active"]
    list_filter = ["is_active", "specialties"]
    search_fields = ["pseudonym", "user__username"]
    filter_horizontal = ["specialties"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["response", "slot", "reviewer", "status", "is_gold", "lease_expires_at"]
    list_filter = ["status", "is_gold"]
    raw_id_fields = ["response", "reviewer"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["response", "reviewer", "verdict", "verdict_after_key", "submitted_at"]
    list_filter = ["verdict"]
    raw_id_fields = ["assignment", "response", "reviewer"]


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ["question", "response", "decision", "adjudicator"]
    list_filter = ["decision"]
    raw_id_fields = ["question", "response"]
