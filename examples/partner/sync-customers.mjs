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
for (const r of records) {
  const { upsertCustomer: result } = await gql(UPSERT, {
    input: { ...r, tags: ['erp-sync'], source: { channel: 'PARTNER', campaign: 'erp-sync' } },
  });
  if (result.__typename === 'UpsertCustomerPayload') result.created ? created++ : updated++;
  else {
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
