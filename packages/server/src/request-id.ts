import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

/** What an incoming `x-request-id` may look like to be kept (else the server assigns a UUID). */
const VALID = /^[A-Za-z0-9._:-]{1,128}$/;
const ids = new WeakMap<Request, string>();

/**
 * Correlation ids: keeps a well-formed incoming `x-request-id` (the SDK sends one per call, the
 * same on every retry), otherwise assigns a UUID; the context and the logs use it (the request's
 * header is normalised to it), and every HTTP response carries it back as `x-request-id`, so a
 * client can quote it. Hand-written: a few lines tied to how this server's context and logs use the id.
 */
export function requestIdPlugin(): Plugin {
  return {
    onRequest({ request }) {
      const incoming = request.headers.get('x-request-id');
      const id = incoming && VALID.test(incoming) ? incoming : randomUUID();
      if (id !== incoming) request.headers.set('x-request-id', id);
      ids.set(request, id);
    },
    onResponse({ request, response }) {
      const id = ids.get(request);
      if (id && !response.headers.has('x-request-id')) response.headers.set('x-request-id', id);
    },
  };
}
