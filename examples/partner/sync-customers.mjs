// A partner's nightly sync, with nothing but fetch: push customers from another system into the
// CRM (upsert by external id, so re-running changes nothing), then read back a filtered page.
//
//   CRM_URL=http://127.0.0.1:4000/graphql CRM_SECRET_KEY=sk_live_... node sync-customers.mjs
const url = process.env.CRM_URL ?? 'http://127.0.0.1:4000/graphql';
const key = process.env.CRM_SECRET_KEY;
if (!key) {
  console.error('Set CRM_SECRET_KEY (a secret key, e.g. the demo key printed by `pnpm start`).');
  process.exit(2);
}

async function gql(query, variables) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
  return body.data;
}

const UPSERT = `mutation Upsert($input: UpsertCustomerInput!) {
  upsertCustomer(input: $input) {
    __typename
    ... on UpsertCustomerPayload { created customer { id email } }
    ... on Error { code message path }
  }
}`;

// Records as they come from the partner's system.
const records = [
  { externalId: 'erp-1001', firstName: 'Lena', lastName: 'Fischer', email: 'lena.fischer@example.com', company: 'Atelier Nord' },
  { externalId: 'erp-1002', firstName: 'Omar', lastName: 'Haddad', email: 'OMAR@example.com', phone: '+44 20 7946 0958' },
  { externalId: 'erp-1003', firstName: 'Broken', email: 'not-an-email' },
];

let created = 0;
let updated = 0;
let rejected = 0;
const ids = new Map();
for (const r of records) {
  const { upsertCustomer: result } = await gql(UPSERT, {
    input: { ...r, tags: ['erp-sync'], source: { channel: 'PARTNER', campaign: 'erp-sync' } },
  });
  if (result.__typename === 'UpsertCustomerPayload') {
    result.created ? created++ : updated++;
    ids.set(r.externalId, result.customer.id);
  } else {
    rejected++;
    console.log(`rejected ${r.externalId}: ${result.code} at ${result.path.join('.')}: ${result.message}`);
  }
}
console.log(`created=${created} updated=${updated} rejected=${rejected}`);

const { customers } = await gql(`{
  customers(first: 10, filter: { tagsAny: ["erp-sync"] }, orderBy: { field: LAST_NAME, direction: ASC }) {
    totalCount
    edges { node { externalId displayName email phone stage source { channel } } }
  }
}`);
console.log(`synced customers: ${customers.totalCount}`);
for (const { node } of customers.edges) console.log(`- ${node.externalId} ${node.displayName} <${node.email}> ${node.phone ?? ''}`);

// Orders from the partner's commerce system, upserted by their own id (re-running changes nothing;
// the idempotency key makes a retried request safe too). A first order makes a lead FIRST_PURCHASE.
const ORDER = `mutation Order($input: UpsertOrderInput!) {
  upsertOrder(input: $input) {
    __typename
    ... on UpsertOrderPayload { created order { externalId total currency customer { stage } } }
    ... on Error { code message path }
  }
}`;
const orders = [
  { externalId: 'erp-o-501', customer: 'erp-1001', items: [{ sku: 'SOFA-3', name: 'Sofa', quantity: 1, unitPrice: '899.00' }] },
  {
    externalId: 'erp-o-502',
    customer: 'erp-1002',
    items: [
      { sku: 'LAMP-1', name: 'Lamp', quantity: 2, unitPrice: '49.50' },
      { sku: 'CARE', name: 'Care kit', quantity: 1, unitPrice: '9.90', addOn: true },
    ],
  },
];
for (const o of orders) {
  const { upsertOrder: r } = await gql(ORDER, {
    input: {
      externalId: o.externalId,
      customerId: ids.get(o.customer),
      currency: 'EUR',
      status: 'PAID',
      channel: 'OFFLINE', // the shop's own sales recorded in its ERP (OTHER_MERCHANT would be a competitor purchase)
      items: o.items,
      idempotencyKey: `sync-${o.externalId}`,
    },
  });
  if (r.__typename !== 'UpsertOrderPayload') throw new Error(`${r.code}: ${r.message}`);
  console.log(`order ${r.order.externalId}: ${r.order.total} ${r.order.currency} -> customer ${r.order.customer.stage}`);
}

// The shop's KPIs for the last 30 days (one query): orders, average order value, repurchase and
// churn rates, leads and conversions per source, and the lifecycle funnel.
const to = new Date(Date.now() + 60_000);
const from = new Date(to.getTime() - 30 * 86_400_000);
const { shopKpis: k } = await gql(
  `query Kpis($from: DateTime!, $to: DateTime!) {
    shopKpis(from: $from, to: $to) {
      orders revenue averageOrderValue repurchaseRate complaintRate churnRate
      acquisition { channel leads conversions conversionRate }
      funnel { stage count reached }
    }
  }`,
  { from: from.toISOString(), to: to.toISOString() },
);
const pct = (x) => (x == null ? 'n/a' : `${Math.round(x * 100)}%`);
console.log(
  `kpis: orders=${k.orders} revenue=${k.revenue} aov=${k.averageOrderValue} repurchase=${pct(k.repurchaseRate)} churn=${pct(k.churnRate)}`,
);
for (const s of k.acquisition) console.log(`source ${s.channel ?? 'UNKNOWN'}: leads=${s.leads} conversions=${s.conversions}`);
console.log(`funnel: ${k.funnel.map((f) => `${f.stage}=${f.count}`).join(' ')}`);
