import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/** Prometheus metrics at /metrics (optionally behind METRICS_TOKEN). */
let app: TestApp;
let url: string;
const TOKEN = 'metrics-token-0123456789';

beforeAll(async () => {
  app = await createTestApp({ followUpDueIntervalMs: 20, metrics: { enabled: true, token: TOKEN } });
  url = await app.app.start();
});
afterAll(() => app.close());

describe('/metrics', () => {
  it('needs the token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
  });

  it('reports GraphQL requests and errors by operation, and the product gauges and counters', async () => {
    const shop = await app.newShop('Metrics');
    const g = app.gql(shop.secretKey);
    await g('query ListThem { customers(first: 1) { totalCount } }');
    await g('query Broken { nope }');
    await new Promise((r) => setTimeout(r, 150)); // a few scheduler passes
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/graphql_envelop_request_duration_count\{[^}]*operationName="ListThem"[^}]*\} 1/);
    expect(text).toMatch(/graphql_envelop_error_result\{[^}]*phase="validate"[^}]*\} 1/);
    expect(text).toMatch(/graphql_yoga_http_duration_count\{[^}]*statusCode="200"/);
    expect(text).toMatch(/^crm_subscriptions 0$/m);
    expect(text).toMatch(/^crm_event_bus_lag_events 0$/m);
    expect(text).toMatch(/^crm_webhook_deliveries\{status="PENDING",retrying="any"\} \d+$/m);
    expect(text).toMatch(/^crm_scheduler_runs_total\{scheduler="follow-up due",outcome="ok"\} [1-9]\d*$/m);
    expect(text).toMatch(/^crm_scheduler_duration_seconds_count\{scheduler="follow-up due"\} [1-9]/m);
    expect(text).toContain('crm_process_');
    if (app.db.kind === 'postgres') expect(text).toMatch(/^crm_db_pool_connections\{state="total"\} \d+$/m);
  });
});
