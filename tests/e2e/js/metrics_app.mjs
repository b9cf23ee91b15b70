// A small instrumented Node.js app: the OpenTelemetry SDK with its default OTLP metrics exporter,
// configured only by the standard OTEL_* environment variables (endpoint, service name).
// It records known values, flushes on shutdown, and prints what it recorded as JSON.
import { NodeSDK } from '@opentelemetry/sdk-node';
import { metrics } from '@opentelemetry/api';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';

const sdk = new NodeSDK({
  // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) itself.
  metricReader: new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter(),
    exportIntervalMillis: 1000,
  }),
});
sdk.start();

const meter = metrics.getMeter('e2e-meter', '1.0.0');
const requests = meter.createCounter('http.server.requests', { description: 'Requests served.' });
const duration = meter.createHistogram('http.server.duration', { unit: 'ms', description: 'Request latency.' });
const inflight = meter.createUpDownCounter('http.server.active_requests', { description: 'In flight.' });
const temperature = meter.createObservableGauge('room.temperature', { unit: 'Cel' });
temperature.addCallback((result) => result.observe(21.5, { room: 'lab' }));

requests.add(3, { route: '/api', code: '200' });
requests.add(1, { route: '/api', code: '500' });
for (const ms of [5, 20, 120]) duration.record(ms, { route: '/api' });
inflight.add(2);

await new Promise((resolve) => setTimeout(resolve, 1500));
await sdk.shutdown();
console.log(JSON.stringify({ requests_ok: 3, requests_err: 1, duration_count: 3, duration_sum: 145, inflight: 2, temperature: 21.5 }));
