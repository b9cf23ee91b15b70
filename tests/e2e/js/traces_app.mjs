// Two instrumented "services" in one Node.js process, each with its own OpenTelemetry tracer
// provider and default OTLP/HTTP protobuf exporter (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT).
// The frontend calls the backend with W3C trace context in the request headers, so one trace
// spans both services. Prints the trace id and what it recorded as JSON.
import { context, propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

propagation.setGlobalPropagator(new W3CTraceContextPropagator());

function provider(service) {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.0.0' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
}
const frontendProvider = provider('frontend');
const backendProvider = provider('backend');
const frontend = frontendProvider.getTracer('frontend-tracer', '0.1.0');
const backend = backendProvider.getTracer('backend-tracer', '0.1.0');

// The backend's request handler: extracts the caller's context from the headers.
function handleOrder(headers) {
  const parent = propagation.extract(context.active(), headers);
  const span = backend.startSpan('process order', {
    kind: SpanKind.SERVER,
    attributes: {
      'order.id': 'A-42', 'order.items': 3, 'order.total': 99.5, 'order.gift': true,
      'order.tags': ['fast', 'fragile'],
    },
  }, parent);
  span.addEvent('inventory checked', { 'inventory.ok': false });
  span.recordException(new Error('payment declined'));
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  span.end();
}

const root = frontend.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET' } });
const rootCtx = trace.setSpan(context.active(), root);
const call = frontend.startSpan('call backend', { kind: SpanKind.CLIENT }, rootCtx);
const headers = {};
propagation.inject(trace.setSpan(rootCtx, call), headers);
handleOrder(headers);
call.end();
root.end();

await frontendProvider.forceFlush();
await backendProvider.forceFlush();
await frontendProvider.shutdown();
await backendProvider.shutdown();
console.log(JSON.stringify({ traceId: root.spanContext().traceId, spans: 3 }));
