import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrmValidationError, createCrmClient, unwrap } from '../packages/sdk/src/index.ts';
import { createStorefrontClient } from '../packages/sdk/src/storefront.ts';
import { createTestApp, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Validation reports every problem at once: three invalid fields give three issues, in the
 * server's ValidationError result and in the SDK's CrmValidationError (full and storefront client).
 */
let t: TestApp;
let url: string;
let keys: { secretKey: string; publishableKey: string };
beforeAll(async () => {
  t = await createTestApp();
  keys = await t.newShop('Validation Shop');
  url = `${await t.app.start()}/graphql`;
});
afterAll(() => t?.close());

const issuePaths = (issues: readonly { path: readonly string[] }[]) => issues.map((i) => i.path.join('.')).sort();
// Three invalid fields checked by the schema's field validators (one of them nested).
const badCustomer = { email: 'not-an-email', dealLikelihood: 150, location: { country: 'Germany' } };

describe('validation reports every invalid field', () => {
  it('server: createCustomer with three invalid fields answers one ValidationError with three issues, and writes nothing', async () => {
    const r = await t.gql(keys.secretKey)(
      `mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename ... on ValidationError { issues { path message code } } } }`,
      { i: badCustomer },
    );
    const result = r.data?.createCustomer as { __typename: string; issues: { path: string[] }[] };
    expect(result.__typename).toBe('ValidationError');
    expect(issuePaths(result.issues)).toEqual(['input.dealLikelihood', 'input.email', 'input.location.country']);
    const list = await t.gql(keys.secretKey)('{ customers(first: 1) { totalCount } }');
    expect(list.data).toEqual({ customers: { totalCount: 0 } });
  });

  it('SDK: unwrap throws one CrmValidationError carrying all three issues and the request id', async () => {
    const crm = createCrmClient({ url, apiKey: keys.secretKey });
    const e = await crm.customers
      .create(badCustomer)
      .then(unwrap)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmValidationError);
    const v = e as CrmValidationError;
    expect(issuePaths(v.issues)).toEqual(['input.dealLikelihood', 'input.email', 'input.location.country']);
    expect(v.issues.every((i) => i.message.length > 0 && i.code.length > 0)).toBe(true);
    expect(v.requestId).toMatch(/^sdk-[0-9a-f]{24}$/);
  });

  it('storefront client: a lead form with three invalid fields gets three issues at once', async () => {
    const sf = createStorefrontClient({ url, apiKey: keys.publishableKey });
    const e = await sf.leads
      .capture({ email: 'nope', phone: 'call me maybe', firstName: 'x'.repeat(500) })
      .then(unwrap)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CrmValidationError);
    expect((e as CrmValidationError).issues).toHaveLength(3);
  });
});
