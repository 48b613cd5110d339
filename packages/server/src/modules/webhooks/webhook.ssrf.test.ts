import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop } from '../../db/tenant.ts';
import { createLogger } from '../../logger.ts';
import { createTestApp, type TestApp } from '../../testing.ts';
import { createDispatcher } from './webhook.dispatcher.ts';
import { addressProblem, safeLookup, targetProblem, urlProblem } from './webhook.target.ts';

/** SSRF: where webhooks may go, checked at registration and again when the dispatcher connects. */
const STRICT = { allowHttp: false, allowPrivate: false };
const DEV = { allowHttp: true, allowPrivate: true };

const REFUSED = [
  'http://169.254.169.254/latest/meta-data/',
  'https://169.254.169.254/latest/meta-data/',
  'https://10.0.0.1/hook',
  'https://172.16.5.4/hook',
  'https://192.168.1.10/hook',
  'https://127.0.0.1/hook',
  'https://127.1/hook',
  'https://2130706433/hook',
  'https://0x7f000001/hook',
  'https://0x7f.0.0.1/hook',
  'https://0177.0.0.1/hook',
  'https://localhost/hook',
  'https://api.localhost/hook',
  'https://[::1]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://[::ffff:7f00:1]/hook',
  'https://[fd00::1]/hook',
  'https://[fe80::1]/hook',
  'https://[64:ff9b::7f00:1]/hook',
  'https://100.64.0.1/hook',
  'https://224.0.0.1/hook',
  'https://[ff02::1]/hook',
  'https://0.0.0.0/hook',
  'https://[::]/hook',
  'https://255.255.255.255/hook',
  'https://user:pass@hooks.example/hook',
  'https://token@hooks.example/hook',
  'http://hooks.example/hook',
  'ftp://hooks.example/hook',
  'not a url',
];

describe('webhook targets (unit)', () => {
  it('refuses every private, loopback, link-local, CGNAT, unique-local, multicast and unspecified form, credentials and http', async () => {
    for (const url of REFUSED) expect(await targetProblem(url, STRICT), url).not.toBeNull();
    expect(await targetProblem('https://8.8.8.8/hook', STRICT)).toBeNull();
    expect(await targetProblem('https://[2606:4700::1111]/hook', STRICT)).toBeNull();
    expect(addressProblem('::ffff:10.1.2.3')).toMatch(/private/);
  });

  it('the development settings open http and private targets separately', async () => {
    expect(urlProblem('http://127.0.0.1:9/hook', { allowHttp: true, allowPrivate: false })).toMatch(/loopback/);
    expect(urlProblem('http://8.8.8.8/hook', { allowHttp: true, allowPrivate: false })).toBeNull();
    expect(urlProblem('http://127.0.0.1:9/hook', DEV)).toBeNull();
    expect(urlProblem('https://u:p@127.0.0.1/hook', DEV)).toMatch(/credentials/);
  });

  it('the connect-time lookup refuses a name that resolves to loopback (DNS rebinding passes no check)', async () => {
    const lookup = safeLookup(STRICT);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err?.message).toMatch(/Webhook target refused: localhost resolves to a loopback address/);
    const ok = await new Promise<unknown>((resolve) => safeLookup(DEV)('localhost', {}, (e, a) => resolve(e ?? a)));
    expect(typeof ok).toBe('string');
  });
});

/** A name (not "localhost") that resolves to this machine's loopback, as a rebinding attacker's name would. */
const LOCAL_NAME = hostname();
const localNameIsLoopback = await lookup(LOCAL_NAME).then(
  (a) => a.address.startsWith('127.') || a.address === '::1',
  () => false,
);

/** A local receiver; `redirectTo` makes it answer 302 to that URL. */
function receiver(redirectTo?: () => string) {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.url ?? '');
      if (redirectTo) res.writeHead(302, { location: redirectTo() }).end();
      else res.writeHead(200).end('ok');
    });
  });
  return {
    received,
    start: () =>
      new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`))),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('webhooks end to end', () => {
  let strict: TestApp;
  let dev: TestApp;
  const target = receiver();
  const bouncer = receiver(() => targetUrl);
  let targetUrl: string;
  let bouncerUrl: string;
  const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename
    ... on WebhookEndpointWithSecret { endpoint { id } } ... on Error { code message path } } }`;

  beforeAll(async () => {
    const hooks = { enabled: false, intervalMs: 1000, maxAttempts: 3, baseBackoffMs: 1, timeoutMs: 2000 };
    strict = await createTestApp({ webhooks: hooks });
    dev = await createTestApp({ webhooks: hooks, webhookTargets: DEV });
    targetUrl = await target.start();
    bouncerUrl = await bouncer.start();
  });
  afterAll(async () => {
    await target.stop();
    await bouncer.stop();
    await strict.close();
    await dev.close();
  });

  it('registration (create and update) refuses each form with a ValidationError at input.url, writing nothing', async () => {
    const shop = await strict.newShop('SSRF');
    const g = strict.gql(shop.secretKey);
    for (const url of [...REFUSED, targetUrl]) {
      const r = await g<{ createWebhookEndpoint: { __typename: string; path: string[]; message: string } }>(CREATE, { input: { url } });
      expect(r.data?.createWebhookEndpoint, url).toMatchObject({ __typename: 'ValidationError', path: ['input', 'url'] });
    }
    expect(await strict.db.prisma.webhookEndpoint.count()).toBe(0);
    const ok = await g<{ createWebhookEndpoint: { endpoint: { id: string } } }>(CREATE, { input: { url: 'https://hooks.example/in' } });
    const id = ok.data!.createWebhookEndpoint.endpoint.id;
    const upd = await g<{ updateWebhookEndpoint: { __typename: string } }>(
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { __typename } }`,
      { input: { id, url: 'https://[::ffff:169.254.169.254]/' } },
    );
    expect(upd.data?.updateWebhookEndpoint.__typename).toBe('ValidationError');
  });

  it('with the development setting a local receiver gets the delivery; a redirect is a failed attempt and is not followed', async () => {
    const shop = await dev.newShop('Dev hooks');
    const g = dev.gql(shop.secretKey);
    const direct = await g<{ createWebhookEndpoint: { endpoint: { id: string } } }>(CREATE, { input: { url: targetUrl } });
    expect(direct.errors).toBeUndefined();
    const bounced = await g<{ createWebhookEndpoint: { endpoint: { id: string } } }>(CREATE, { input: { url: bouncerUrl } });
    expect(bounced.errors).toBeUndefined();
    await g('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', { i: { email: 'hook@ssrf.test' } });
    await dev.app.webhooks.tick();
    const rows = await forShop(dev.db.prisma, shop.shop.id).webhookDelivery.findMany({ include: { endpoint: true } });
    const toTarget = rows.filter((r) => r.endpoint.url === targetUrl);
    const toBouncer = rows.filter((r) => r.endpoint.url === bouncerUrl);
    expect(toTarget.every((r) => r.status === 'SUCCEEDED')).toBe(true);
    expect(toBouncer.length).toBeGreaterThan(0);
    for (const r of toBouncer) {
      expect(r.status).toBe('PENDING');
      expect(r.lastStatusCode).toBe(302);
      expect(r.lastError).toBe('Redirect not followed (HTTP 302)');
    }
    // The receiver got the direct deliveries only: none arrived through the redirect.
    expect(target.received.length).toBe(toTarget.length);
    expect(bouncer.received.length).toBe(toBouncer.length);
  });

  it.skipIf(!localNameIsLoopback)(
    'delivery re-checks the target: an endpoint whose host now resolves to loopback is refused at connect time (needs a hostname resolving to 127.x)',
    async () => {
      const shop = await dev.newShop('Rebind');
      const db = forShop(dev.db.prisma, shop.shop.id);
      // As if the name had resolved to a public address at registration and to 127.0.0.1 now.
      const port = new URL(targetUrl).port;
      await dev.db.prisma.webhookEndpoint.updateMany({ data: { active: false } });
      const ep = await db.webhookEndpoint.create({
        data: { url: `http://${LOCAL_NAME}:${port}/hook`, eventTypes: [], secret: 'whsec_test', lastEventId: 0n } as never,
      });
      await dev.gql(shop.secretKey)('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', {
        i: { email: 'rebind@ssrf.test' },
      });
      const before = target.received.length;
      const dispatcher = createDispatcher({
        prisma: dev.db.prisma,
        logger: createLogger('silent'),
        maxAttempts: 3,
        baseBackoffMs: 1,
        timeoutMs: 2000,
        targets: { allowHttp: true, allowPrivate: false },
      });
      await dispatcher.tick();
      const rows = await db.webhookDelivery.findMany({ where: { endpointId: ep.id } });
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.status).toBe('PENDING');
        expect(r.lastError).toBe(`Webhook target refused: ${LOCAL_NAME} resolves to a loopback address`);
      }
      expect(target.received.length).toBe(before);
    },
  );
});
