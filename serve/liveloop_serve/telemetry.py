"""Where ``liveloop serve`` sends the spans and metrics its sessions make.

liveloop's core records through the OpenTelemetry API; this module installs the SDK
behind it for the server process: ``--metrics`` exposes Prometheus text at ``/metrics``
(OpenTelemetry's Prometheus exporter on ``prometheus_client``), ``--otlp ENDPOINT`` (or
the standard ``OTEL_EXPORTER_OTLP_*`` variables) exports traces and metrics over OTLP/HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

__all__ = ["Telemetry", "otlp_from_env"]


def otlp_from_env() -> bool:
    """Whether the environment names an OTLP endpoint (the SDK reads it itself)."""
    return any(
        os.environ.get(name)
        for name in (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        )
    )


class Telemetry:
    """The process's tracer and meter providers, set up once from the command's options.

    ``routes`` is what the server adds (``/metrics`` with ``--metrics``); :meth:`shutdown`
    flushes what is still buffered (spans of the last calls) before the process exits.
    """

    def __init__(self, *, metrics: bool = False, otlp: str | None = None) -> None:
        from opentelemetry import metrics as otel_metrics
        from opentelemetry import trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        self.routes: list[BaseRoute] = []
        self._shutdown: list[Callable[[], object]] = []
        resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "liveloop-serve")}
        )
        readers: list[MetricReader] = []
        if metrics:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader

            readers.append(PrometheusMetricReader())
            self.routes.append(Route("/metrics", _metrics_page, methods=["GET"]))
        exporting = otlp is not None or otlp_from_env()
        if exporting:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            base = otlp.rstrip("/") if otlp else None
            spans = OTLPSpanExporter(endpoint=f"{base}/v1/traces" if base else None)
            tracer_provider = TracerProvider(resource=resource)
            tracer_provider.add_span_processor(BatchSpanProcessor(spans))
            trace.set_tracer_provider(tracer_provider)
            self._shutdown.append(tracer_provider.shutdown)
            exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics" if base else None)
            readers.append(PeriodicExportingMetricReader(exporter))
        if readers:
            meter_provider = MeterProvider(resource=resource, metric_readers=readers)
            otel_metrics.set_meter_provider(meter_provider)
            self._shutdown.append(meter_provider.shutdown)

    @property
    def enabled(self) -> bool:
        return bool(self._shutdown)

    def shutdown(self) -> None:
        """Flush and stop the exporters (blocking: call it off the event loop)."""
        for stop in self._shutdown:
            stop()


async def _metrics_page(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
