// The storefront's script: the @crm/sdk/storefront browser bundle (dist/browser/crm-sdk.min.js,
// about 3 KB gzip) with a publishable key (safe in a browser). serve.mjs serves the bundle at
// ./sdk.js and the configuration at ./config.js. With a bundler: import from '@crm/sdk/storefront'.
import config from './config.js';
import { CrmValidationError, createStorefrontClient, unwrap } from './sdk.js';
import { createTracker } from './track.js';

const $ = (sel) => document.querySelector(sel);

function show(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function describe(error) {
  if (error instanceof CrmValidationError) return error.issues.map((i) => `${i.path.at(-1)}: ${i.message}`).join('; ');
  return error?.message ?? String(error);
}

// Behaviour (@crm/sdk/track, about 1.3 KB gzip): an anonymous first-party visitor id, events sent
// in batches and with navigator.sendBeacon when the page is hidden. leads.capture below sends the
// visitor id, so these events become the lead's (docs/behaviour.md).
const tracker = createTracker({ url: config.crmUrl, apiKey: config.publishableKey });
tracker.track('PAGE_VIEWED');
for (const button of document.querySelectorAll('#products button[data-sku]')) {
  button.addEventListener('click', () => {
    tracker.track('PRODUCT_VIEWED', { sku: button.dataset.sku });
    show($('#product-detail'), `${button.textContent}: in stock`);
  });
}

// Lead capture: creates or updates a PROSPECT in the CRM and records the inquiry.
const crm = createStorefrontClient({ url: config.crmUrl, apiKey: config.publishableKey });

$('#lead-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const formEl = event.currentTarget;
  const form = new FormData(formEl);
  const status = $('#lead-status');
  show(status, 'Sending…');
  try {
    unwrap(
      await crm.leads.capture({
        firstName: form.get('firstName') || null,
        email: form.get('email'),
        message: form.get('message') || null,
        productInterests: [form.get('interest')],
        consents: [{ channel: 'EMAIL', granted: form.get('newsletter') === 'on' }],
        source: { channel: 'DIRECT', referrer: document.referrer || null },
        metadata: { page: location.pathname },
      }),
    );
    show(status, 'Thanks! We will be in touch.');
    formEl.reset();
  } catch (error) {
    show(status, `Sorry: ${describe(error)}`, true);
  }
});

// "My profile": needs a customer token, which the shop's backend issues (createCustomerToken with
// its secret key) for a signed-in customer. This example reads it from the URL: #token=…
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem('crmCustomerToken');
if (token) {
  sessionStorage.setItem('crmCustomerToken', token);
  history.replaceState(null, '', location.pathname + location.search);
  const me = createStorefrontClient({ url: config.crmUrl, apiKey: config.publishableKey, customerToken: token });
  const section = $('#profile');
  const form = $('#profile-form');
  const status = $('#profile-status');
  section.hidden = false;

  const render = (profile) => {
    show($('#profile-name'), `Signed in as ${[profile.firstName, profile.lastName].filter(Boolean).join(' ') || profile.email}`);
    form.elements.preferredChannel.value = profile.preferredChannel ?? '';
    const granted = new Set(profile.consents.filter((c) => c.granted).map((c) => c.channel));
    for (const box of form.querySelectorAll('input[name=consent]')) box.checked = granted.has(box.value);
  };

  me.me
    .get()
    .then((profile) => {
      if (!profile) throw new Error('Your session has expired; please sign in again.');
      render(profile);
      section.dataset.loaded = 'true';
    })
    .catch((error) => show(status, describe(error), true));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(status, 'Saving…');
    try {
      const { profile } = unwrap(
        await me.me.update({
          preferredChannel: form.elements.preferredChannel.value || null,
          consents: [...form.querySelectorAll('input[name=consent]')].map((box) => ({ channel: box.value, granted: box.checked })),
        }),
      );
      render(profile);
      show(status, 'Saved.');
    } catch (error) {
      show(status, `Sorry: ${describe(error)}`, true);
    }
  });
}
