import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './testing.ts';

/** x-request-id: a well-formed incoming id is echoed, anything else is replaced by a UUID. */
let t: TestApp;
let url: string;
let key: string;
beforeAll(async () => {
  t = await createTestApp();
  key = (await t.newShop('Request Id Shop')).secretKey;
  url = await t.app.start();
});
afterAll(() => t?.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const post = (headers: Record<string, string>, query = '{ shop { name } }') =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query }),
  });

describe('x-request-id', () => {
  it('echoes a well-formed incoming id on the response', async () => {
    const res = await post({ 'x-request-id': 'sdk-0123abcd.retry:1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('sdk-0123abcd.retry:1');
  });

  it('assigns a UUID when the id is missing, too long or holds other characters', async () => {
    const cases: Record<string, string>[] = [{}, { 'x-request-id': 'x'.repeat(129) }, { 'x-request-id': 'has spaces; and <tags>' }];
    for (const headers of cases) {
      const res = await post(headers);
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    }
  });

  it('is on error responses too (401, a GraphQL error)', async () => {
    const bad = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk_live_nope', 'x-request-id': 'r-401' },
      body: JSON.stringify({ query: '{ shop { name } }' }),
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('x-request-id')).toBe('r-401');
    const invalid = await post({ 'x-request-id': 'r-invalid' }, '{ noSuchField }');
    expect(await invalid.json()).toMatchObject({ errors: [{ message: expect.stringMatching(/noSuchField/) }] });
    expect(invalid.headers.get('x-request-id')).toBe('r-invalid');
  });
});
