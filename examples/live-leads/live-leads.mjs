// A sales team's live feed: every new lead from the storefront, as it arrives. Survives dropped
// connections and server restarts (the SDK resumes from the last event id it saw).
//
//   pnpm --filter @crm/sdk build
//   CRM_URL=http://127.0.0.1:4000/graphql CRM_SECRET_KEY=sk_live_... node examples/live-leads/live-leads.mjs
import { createCrmClient } from '@crm/sdk';
import WebSocket from 'ws';

const url = process.env.CRM_URL ?? 'http://127.0.0.1:4000/graphql';
const apiKey = process.env.CRM_SECRET_KEY;
if (!apiKey) {
  console.error('Set CRM_SECRET_KEY (a secret key with customers:read, e.g. the demo key printed by `pnpm start`).');
  process.exit(2);
}

const crm = createCrmClient({ url, apiKey, webSocketImpl: WebSocket, logger: { warn: (m) => console.error(`(${m})`) } });
const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
process.on('SIGTERM', () => stop.abort());

console.log(`Watching ${url} for new leads (Ctrl-C to stop)`);
try {
  for await (const event of crm.subscriptions.leadCreated({ after: process.env.AFTER, signal: stop.signal })) {
    const who = event.customer ? `${event.customer.displayName} [${event.customer.stage}]` : '(since erased)';
    console.log(`${event.occurredAt}  NEW LEAD  ${who}  #${event.id}`);
  }
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exitCode = 1;
} finally {
  await crm.close();
}
