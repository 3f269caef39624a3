"""The kit's own calls, namespace ``ucloud``: what the admin asks every unit.

Every unit serves them (``ucloud.observe.rpc``), for SERVICE tokens only;
they are not part of any service's contract (``contracts.lock``, OpenAPI)
and are not observed themselves. The admin asks each unit over HTTP, or
runs them in process for the services served here (``ucloud.observe.units``)::

    UcloudDescriptions.live.call({}, client)          # GET /api/ucloud/live
"""

from __future__ import annotations

from rest_framework import serializers

from ucloud.contracts.bindings import http_browse, http_retrieve, http_update
from ucloud.contracts.calls import CallDescriptionContainer, Empty, call
from ucloud.contracts.roles import Access, Roles


class UnitDescription(serializers.Serializer):
    services = serializers.ListField(child=serializers.CharField())
    databases = serializers.JSONField(help_text="alias -> {vendor, name}")
    redis = serializers.BooleanField()
    events = serializers.CharField(help_text="streams, or eager (in process)")
    search = serializers.CharField(allow_blank=True, help_text="search engine, if any")


class CallFigures(serializers.Serializer):
    window_s = serializers.FloatField()
    calls = serializers.JSONField(help_text="rows of ucloud.observe.stats.call_rows")


class LiveState(serializers.Serializer):
    state = serializers.JSONField()


class DeadLettersRequest(serializers.Serializer):
    resolved = serializers.BooleanField(default=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=200)


class DeadLetters(serializers.Serializer):
    letters = serializers.JSONField()


class LetterRef(serializers.Serializer):
    database = serializers.CharField(max_length=100)
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class RetryRequest(serializers.Serializer):
    letters = serializers.ListField(child=LetterRef(), allow_empty=False, max_length=500)


class RetryResult(serializers.Serializer):
    results = serializers.JSONField()


class UcloudDescriptions(CallDescriptionContainer):
    namespace = "ucloud"

    describe = call(
        request=Empty,
        response=UnitDescription,
        roles=Roles.SERVICE,
        http=http_retrieve("unit"),
        summary="The services, databases and stores of the unit",
    )
    figures = call(
        request=Empty,
        response=CallFigures,
        roles=Roles.SERVICE,
        http=http_retrieve("calls"),
        summary="Count, error rate and percentiles per call, since start and recently",
    )
    live = call(
        request=Empty,
        response=LiveState,
        roles=Roles.SERVICE,
        http=http_retrieve("live"),
        summary="Locks held, consumer lag, dead letters, outbox backlog, status",
    )
    dead_letters = call(
        request=DeadLettersRequest,
        response=DeadLetters,
        roles=Roles.SERVICE,
        http=http_browse("dead_letters"),
        summary="The newest dead letters of the unit's databases",
    )
    retry_dead_letters = call(
        request=RetryRequest,
        response=RetryResult,
        roles=Roles.SERVICE,
        access=Access.READ_WRITE,
        http=http_update("retry_dead_letters"),
        summary="Run dead letters through their processors again, once each",
    )
