"""Admin pages of the kit's event tables: the outbox, the inboxes and the
dead letters, which can be retried from their list.

The rows are written by the kit only, so the pages are read-only and
nothing can be deleted (a deleted inbox entry would let its event be
processed twice, a deleted outbox row would never be relayed); the one thing
an operator does here is retry dead letters once the processor is fixed::

    /admin/ucloud/deadletter/?resolved=no   -> select -> "Retry selected dead letters"
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ucloud.events.delivery import first_line, retry_or_reason
from ucloud.models import DeadLetter, InboxEntry, OutboxEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list and detail view only: rows belong to the kit's machinery.

    No deletion either, not even for superusers: without the delete
    permission the admin offers no "Delete selected" action and refuses the
    delete page.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IsNullFilter(admin.SimpleListFilter):
    """Yes/no filter on whether a timestamp field is set."""

    field: str = ""
    yes: str = "Yes"
    no: str = "No"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", self.yes), ("no", self.no)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in ("yes", "no"):
            return queryset.filter(**{f"{self.field}__isnull": value == "no"})
        return queryset


class RelayedFilter(IsNullFilter):
    title = "relayed"
    parameter_name = "relayed"
    field = "relayed_at"
    no = "No (pending)"


class ResolvedFilter(IsNullFilter):
    title = "resolved"
    parameter_name = "resolved"
    field = "resolved_at"
    no = "No (unresolved)"


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "stream", "key", "event_id", "created_at", "relayed_at")
    list_filter = (RelayedFilter, "stream")
    search_fields = ("key", "event_id")
    date_hierarchy = "created_at"


@admin.register(InboxEntry)
class InboxEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "consumer", "event_id", "handled_at")
    list_filter = ("consumer",)
    search_fields = ("event_id",)
    date_hierarchy = "handled_at"


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "consumer",
        "stream",
        "key",
        "attempts",
        "short_error",
        "failed_at",
        "resolved_at",
    )
    list_filter = (ResolvedFilter, "consumer", "stream")
    search_fields = ("key", "event_id", "error")
    actions = ("retry",)

    @admin.display(description="error")
    def short_error(self, letter: DeadLetter) -> str:
        return first_line(letter.error)[:120]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # Retrying changes state (the processor's effect, the letter), so it
        # needs the change permission the read-only pages do not grant.
        return request.user.has_perm("ucloud.change_deadletter")

    @admin.action(description="Retry selected dead letters", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        handled, skipped, failing = 0, 0, []
        for letter in queryset.order_by("id"):
            if letter.resolved_at is not None:
                skipped += 1
                continue
            error = retry_or_reason(letter)
            if error is None:
                handled += 1
            else:
                failing.append(f"#{letter.id}: {error}")
        if handled:
            self.message_user(
                request, f"{handled} dead letter(s) handled and resolved.", messages.SUCCESS
            )
        if skipped:
            self.message_user(
                request, f"{skipped} dead letter(s) were already resolved.", messages.INFO
            )
        if failing:
            self.message_user(
                request,
                f"{len(failing)} dead letter(s) still failing: {'; '.join(failing)}",
                messages.ERROR,
            )
