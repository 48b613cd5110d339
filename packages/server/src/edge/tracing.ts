import { useOpenTelemetry } from '@envelop/opentelemetry';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { Plugin } from 'graphql-yoga';

/**
 * OpenTelemetry traces: one trace per HTTP request (a server span), a span per GraphQL operation
 * under it (@envelop/opentelemetry), and Prisma's spans for every query and SQL statement under
 * that (@prisma/instrumentation). Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (the standard variable; e.g. http://collector:4318), or to a given exporter (tests).
 * The tracer provider is process-wide (OpenTelemetry's global), set up once.
 */
export type TracingOptions = { endpoint?: string; serviceName: string; exporter?: SpanExporter };

let provider: NodeTracerProvider | null = null;

export function setupTracing(opts: TracingOptions): NodeTracerProvider | null {
  if (provider) return provider;
  const processors: SpanProcessor[] = [];
  if (opts.exporter) processors.push(new SimpleSpanProcessor(opts.exporter));
  if (opts.endpoint) {
    const url = `${opts.endpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  if (!processors.length) return null;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: processors,
  });
  provider.register();
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new PrismaInstrumentation()] });
  return provider;
}

/** The HTTP server span around each request, then the GraphQL operation spans. */
export function tracingPlugins(): Plugin[] {
  const tracer = trace.getTracer('headless-crm');
  const http: Plugin = {
    instrumentation: {
      request({ request }, wrapped) {
        const url = new URL(request.url);
        const span = tracer.startSpan(`${request.method} ${url.pathname}`, {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method, 'url.path': url.pathname },
        });
        return context.with(trace.setSpan(context.active(), span), async () => {
          try {
            return await wrapped();
          } catch (err) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw err;
          } finally {
            span.end();
          }
        });
      },
    },
  };
  // No variables, documents or results on spans: they may hold personal data.
  return [
    http,
    useOpenTelemetry({ resolvers: false, variables: false, result: false, document: false }, trace.getTracerProvider()) as Plugin,
  ];
}
