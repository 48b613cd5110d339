import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type Credentials,
  clientIpOf,
  createContextInner,
  credentialsFromHeaders,
  resolveViewer,
  type Services,
  type Viewer,
} from '../context.ts';
import type { Yoga } from './yoga.ts';

/**
 * The network side of the app: one Node HTTP server for Yoga (GraphQL over HTTP and SSE, /health,
 * exports) and a graphql-ws WebSocket server on the same path, with the same context as HTTP.
 */

function wsCredentials(wsCtx: {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { request: { headers: Record<string, string | string[] | undefined> } };
}) {
  const p = wsCtx.connectionParams ?? {};
  const get = (name: string) => {
    const v = p[name] ?? p[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] ?? wsCtx.extra.request.headers[name];
    return typeof v === 'string' ? v : null;
  };
  const creds = credentialsFromHeaders(get);
  return { ...creds, apiKey: creds.apiKey ?? get('apiKey') };
}

export type HttpServer = {
  server: Server;
  /** Listens on config.port (0 = any free port); resolves to the base URL. */
  listen(): Promise<string>;
  /** Closes the WebSocket side (graphql-ws clean-up, then the socket server). */
  closeSockets(): Promise<void>;
  /** Stops accepting connections and lets in-flight requests finish (up to 10 s), then closes sockets. */
  close(): Promise<void>;
};

/** The close code of a socket whose credentials no longer hold (graphql-ws: Forbidden). */
export const WS_CREDENTIALS_CHANGED = 4403;

/**
 * Open sockets stay who they said they were. A socket's credentials are resolved again (through
 * the read caches, so usually without a query) before each operation, and for every open socket of
 * a shop when the shop reports a change (a revoked key, a deactivated or demoted staff user: each
 * is an event of the shop; at most one pass per shop every 250 ms, one resolution per distinct
 * credentials). A socket whose credentials no
 * longer hold, or now act as another staff role, is closed with 4403; the client reconnects with
 * what it has now. Hand-written: graphql-ws checks credentials once, at connection_init.
 */
function socketRecheck(services: Services) {
  type Live = { creds: Credentials; viewer: Viewer; socket: WebSocket };
  const byShop = new Map<string, Set<Live>>();
  const pending = new Map<string, NodeJS.Timeout>();
  const same = (a: Viewer, b: Viewer) =>
    a.kind === b.kind &&
    (a.kind === 'anonymous' ||
      (b.kind !== 'anonymous' &&
        a.shopId === b.shopId &&
        a.keyId === b.keyId &&
        (a.kind !== 'secret' || (b.kind === 'secret' && a.staff?.id === b.staff?.id && a.staff?.role === b.staff?.role)) &&
        (a.kind !== 'publishable' || (b.kind === 'publishable' && a.customerId === b.customerId))));
  /** `now` (the credentials resolved again) when it is who the socket was; else the socket is closed and null. */
  const verdict = (live: Live, now: Viewer | null): Viewer | null => {
    if (now && same(now, live.viewer)) return now;
    live.socket.close(WS_CREDENTIALS_CHANGED, 'Forbidden: the credentials were revoked or changed');
    return null;
  };
  const resolve = (creds: Credentials) => resolveViewer(services, creds).catch(() => null);
  /** The socket's viewer now, or null (and the socket closed) when its credentials changed. */
  const check = async (live: Live) => verdict(live, await resolve(live.creds));
  /** One resolution per distinct credentials of the shop's sockets (a sales floor shares one key). */
  const pass = async (shopId: string) => {
    pending.delete(shopId);
    const groups = new Map<string, Live[]>();
    for (const live of byShop.get(shopId) ?? []) {
      const k = JSON.stringify([live.creds.apiKey ?? null, live.creds.staffId ?? null, live.creds.customerToken ?? null]);
      const group = groups.get(k);
      if (group) group.push(live);
      else groups.set(k, [live]);
    }
    for (const lives of groups.values()) {
      const now = await resolve((lives[0] as Live).creds);
      for (const live of lives) verdict(live, now);
    }
  };
  const unsubscribe = services.events.onShopChange((shopId) => {
    if (!byShop.has(shopId) || pending.has(shopId)) return;
    const timer = setTimeout(() => void pass(shopId).catch(() => undefined), 250);
    timer.unref();
    pending.set(shopId, timer);
  });
  return {
    check,
    close() {
      unsubscribe();
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
    track(creds: Credentials, viewer: Viewer, socket: WebSocket): Live {
      const live = { creds, viewer, socket };
      if (viewer.kind === 'anonymous') return live;
      const set = byShop.get(viewer.shopId) ?? new Set<Live>();
      byShop.set(viewer.shopId, set);
      set.add(live);
      socket.once('close', () => {
        set.delete(live);
        if (!set.size) byShop.delete(viewer.shopId);
      });
      return live;
    },
  };
}

export function createHttpServer(yoga: Yoga, services: Services): HttpServer {
  const { config, logger } = services;
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const sockets = socketRecheck(services);
  const wsCleanup = useServer(
    {
      execute: (args) => (args.rootValue as { execute: (a: unknown) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => never }).subscribe(args),
      // Credentials come in the connection_init payload ({ authorization: "Bearer <key>" } or
      // { apiKey }) or the upgrade request's headers; bad credentials close the socket (4403).
      onConnect: async (wsCtx) => {
        const creds = wsCredentials(wsCtx);
        const viewer = await resolveViewer(services, creds).catch(() => null);
        if (!viewer) return false;
        (wsCtx.extra as { live?: unknown }).live = sockets.track(creds, viewer, wsCtx.extra.socket);
        return true;
      },
      onSubscribe: async (wsCtx, _id, params) => {
        const {
          schema: s,
          execute,
          subscribe,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...wsCtx,
          req: wsCtx.extra.request,
          socket: wsCtx.extra.socket,
          params,
        });
        const live = (wsCtx.extra as { live?: Parameters<typeof sockets.check>[0] }).live;
        const viewer = live ? await sockets.check(live) : null;
        // Closed: its credentials no longer hold.
        if (!viewer) return [new GraphQLError('The credentials were revoked or changed', { extensions: { code: 'FORBIDDEN' } })];
        const args = {
          schema: s,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: createContextInner(
            services,
            viewer,
            undefined,
            clientIpOf(
              config.trustProxy,
              wsCtx.extra.request.headers['x-forwarded-for'] as string | undefined,
              wsCtx.extra.request.socket.remoteAddress,
            ),
          ),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  return {
    server,
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      const url = `http://${config.host}:${addr.port}`;
      logger.info('listening', { url: `${url}/graphql` });
      return url;
    },
    async closeSockets() {
      sockets.close();
      await wsCleanup.dispose();
      wss.close();
    },
    close() {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 10_000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
