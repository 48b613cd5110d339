import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';

/**
 * Consent you can prove: every grant and withdrawal keeps the wording (or text version), source,
 * legal basis and, from a browser, IP and user agent; email consent can wait for double opt-in
 * (not counted by outbound features until confirmed); the customer sees and withdraws consents
 * through `me`; the history is in the data export.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ trustProxy: true });
});
afterAll(() => t?.close());

const BROWSER = { 'user-agent': 'Mozilla/5.0 (ConsentTest)', 'x-forwarded-for': '203.0.113.7' };
type Res = Record<string, unknown> & { __typename: string; code?: string; path?: string[] };

async function mutation(g: Caller, field: string, input: unknown, sel: string, headers?: Record<string, string>): Promise<Res> {
  const type = `${field[0]?.toUpperCase()}${field.slice(1)}Input`;
  const r = await g<Record<string, Res>>(
    `mutation($input: ${type}!) { ${field}(input: $input) { __typename ... on Error { code path } ${sel} } }`,
    { input },
    headers,
  );
  if (r.errors?.length || !r.data?.[field]) throw new Error(`${field}: ${JSON.stringify(r.errors)}`);
  return r.data[field] as Res;
}

const CONSENT = 'channel granted source wording textVersion legalBasis sourceUrl ip userAgent pendingConfirmation confirmedAt';

describe('consent proof and double opt-in', () => {
  it('captureLead stores proof, waits for confirmation, and only the confirmed consent counts', async () => {
    const shop = await t.newShop('Consent');
    const g = t.gql(shop.secretKey);
    const pk = t.gql(shop.publishableKey);
    const lead = await mutation(
      pk,
      'captureLead',
      {
        email: 'optin@consent.example',
        consents: [
          {
            channel: 'EMAIL',
            granted: true,
            doubleOptIn: true,
            wording: 'Yes, send me the newsletter.',
            textVersion: 'newsletter-v3',
            sourceUrl: 'https://shop.example/signup',
          },
          { channel: 'SMS', granted: true, wording: 'Text me offers', legalBasis: 'CONSENT' },
        ],
      },
      '... on CaptureLeadPayload { accepted }',
      BROWSER,
    );
    expect(lead.accepted).toBe(true);
    const q = `query($e: String!) { customerBy(email: $e) { id consents { ${CONSENT} } } }`;
    const c1 = (await g<{ customerBy: { id: string; consents: Record<string, unknown>[] } }>(q, { e: 'optin@consent.example' })).data
      ?.customerBy;
    const id = c1?.id as string;
    expect(c1?.consents).toEqual([
      {
        channel: 'EMAIL',
        granted: false,
        source: 'lead-form',
        wording: 'Yes, send me the newsletter.',
        textVersion: 'newsletter-v3',
        legalBasis: 'CONSENT',
        sourceUrl: 'https://shop.example/signup',
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (ConsentTest)',
        pendingConfirmation: true,
        confirmedAt: null,
      },
      expect.objectContaining({ channel: 'SMS', granted: true, wording: 'Text me offers', ip: '203.0.113.7', pendingConfirmation: false }),
    ]);

    // Outbound features read `granted`: the unconfirmed email consent does not count.
    const members = async () =>
      (await g<{ previewSegment: { count: number } }>('{ previewSegment(rule: "consent.EMAIL = true") { count } }')).data?.previewSegment
        .count;
    expect(await members()).toBe(0);

    // The token goes out once, in the event the shop's backend turns into the confirmation email.
    const [requested] = await t.db.prisma.event.findMany({ where: { type: 'CONSENT_CONFIRMATION_REQUESTED', customerId: rawId(id) } });
    const token = (requested?.payload as { token: string } | undefined)?.token as string;
    expect(requested?.payload).toMatchObject({ customerId: id, channel: 'EMAIL' });
    expect(JSON.stringify(await t.db.prisma.consent.findMany({ where: { customerId: rawId(id) } }))).not.toContain(token);

    const wrong = await mutation(pk, 'confirmConsent', { token: 'nope' }, '... on ConfirmConsentSuccess { consent { granted } }');
    expect(wrong).toMatchObject({ __typename: 'NotFoundError', path: ['input', 'token'] });
    const ok = await mutation(pk, 'confirmConsent', { token }, `... on ConfirmConsentSuccess { consent { ${CONSENT} } }`, {
      'user-agent': 'Mozilla/5.0 (Clicked link)',
      'x-forwarded-for': '198.51.100.2',
    });
    expect(ok.consent).toMatchObject({ channel: 'EMAIL', granted: true, pendingConfirmation: false, textVersion: 'newsletter-v3' });
    expect((ok.consent as { confirmedAt: string }).confirmedAt).toBeTruthy();
    expect(await members()).toBe(1);
    const again = await mutation(pk, 'confirmConsent', { token }, '__typename');
    expect(again.__typename).toBe('NotFoundError');

    // The history, with the proof of each step, is in the export.
    const doc = (
      await g<{ customerDataExport: { consentHistory: Record<string, unknown>[] } }>('query($id: ID!) { customerDataExport(id: $id) }', {
        id,
      })
    ).data?.customerDataExport;
    const email = doc?.consentHistory
      .filter((h) => h.channel === 'EMAIL')
      .sort((a, b) => String(a.changedAt).localeCompare(String(b.changedAt)));
    expect(email).toEqual([
      expect.objectContaining({
        granted: false,
        pending: true,
        ip: '203.0.113.7',
        wording: 'Yes, send me the newsletter.',
        confirmedAt: null,
      }),
      expect.objectContaining({
        granted: true,
        pending: false,
        source: 'double-opt-in',
        ip: '198.51.100.2',
        userAgent: 'Mozilla/5.0 (Clicked link)',
        confirmedAt: expect.any(String),
      }),
    ]);
  });

  it('an expired confirmation is refused; a server-side grant records its proof without browser data', async () => {
    const shop = await t.newShop('Consent 2');
    const g = t.gql(shop.secretKey);
    const c = await mutation(
      g,
      'createCustomer',
      {
        email: 'late@consent.example',
        consents: [
          { channel: 'EMAIL', granted: true, doubleOptIn: true, textVersion: 'v1', source: 'import' },
          { channel: 'POSTAL', granted: true, legalBasis: 'LEGITIMATE_INTEREST', source: 'staff' },
        ],
      },
      `... on CreateCustomerSuccess { customer { id consents { ${CONSENT} } } }`,
      BROWSER,
    );
    const customer = c.customer as { id: string; consents: Record<string, unknown>[] };
    // A secret key is a server: its IP and user agent are not the person's.
    expect(customer.consents).toEqual([
      expect.objectContaining({ channel: 'EMAIL', granted: false, pendingConfirmation: true, source: 'import', ip: null, userAgent: null }),
      expect.objectContaining({ channel: 'POSTAL', granted: true, legalBasis: 'LEGITIMATE_INTEREST', source: 'staff', ip: null }),
    ]);
    const [ev] = await t.db.prisma.event.findMany({ where: { type: 'CONSENT_CONFIRMATION_REQUESTED', customerId: rawId(customer.id) } });
    await t.db.prisma.consent.updateMany({
      where: { customerId: rawId(customer.id), channel: 'EMAIL' },
      data: { confirmationExpiresAt: new Date(Date.now() - 1000) },
    });
    const late = await mutation(
      t.gql(shop.publishableKey),
      'confirmConsent',
      { token: (ev?.payload as { token: string } | undefined)?.token },
      '__typename',
    );
    expect(late).toMatchObject({ __typename: 'ValidationError', path: ['input', 'token'] });
    const still = await t.db.prisma.consent.findFirst({ where: { customerId: rawId(customer.id), channel: 'EMAIL' } });
    expect(still).toMatchObject({ granted: false, pendingConfirmation: true });
  });

  it('the customer sees the proof of their consents and withdraws one through me', async () => {
    const shop = await t.newShop('Consent 3');
    const g = t.gql(shop.secretKey);
    const c = await mutation(
      g,
      'createCustomer',
      { email: 'me@consent.example', consents: [{ channel: 'SMS', granted: true, wording: 'SMS please' }] },
      '... on CreateCustomerSuccess { customer { id } }',
    );
    const id = (c.customer as { id: string }).id;
    const token = (await mutation(g, 'createCustomerToken', { customerId: id }, '... on CustomerToken { token }')).token as string;
    const me = t.gql(shop.publishableKey);
    const headers = { ...BROWSER, 'x-customer-token': token };
    const seen = await me<{ me: { consents: Record<string, unknown>[] } }>(`{ me { consents { ${CONSENT} } } }`, undefined, headers);
    expect(seen.data?.me.consents).toEqual([expect.objectContaining({ channel: 'SMS', granted: true, wording: 'SMS please' })]);
    const r = await mutation(
      me,
      'updateMyProfile',
      { consents: [{ channel: 'SMS', granted: false, wording: 'Stop texting me' }] },
      `... on UpdateMyProfileSuccess { profile { consents { ${CONSENT} } } }`,
      headers,
    );
    expect((r.profile as { consents: unknown[] }).consents).toEqual([
      expect.objectContaining({ channel: 'SMS', granted: false, source: 'self-service', wording: 'Stop texting me', ip: '203.0.113.7' }),
    ]);
    const history = await t.db.prisma.consentChange.findMany({ where: { customerId: rawId(id) }, orderBy: { changedAt: 'asc' } });
    expect(history.map((h) => [h.granted, h.source, h.userAgent])).toEqual([
      [true, 'api', null],
      [false, 'self-service', 'Mozilla/5.0 (ConsentTest)'],
    ]);
  });
});
