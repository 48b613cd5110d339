import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { clientIpOf, createContextInner, credentialsFromHeaders, resolveViewer, type Services, type Viewer } from '../context.ts';
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

export function createHttpServer(yoga: Yoga, services: Services): HttpServer {
  const { config, logger } = services;
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const wsCleanup = useServer(
    {
      execute: (args) => (args.rootValue as { execute: (a: unknown) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => never }).subscribe(args),
      // Credentials come in the connection_init payload ({ authorization: "Bearer <key>" } or
      // { apiKey }) or the upgrade request's headers; bad credentials close the socket (4403).
      onConnect: async (wsCtx) => {
        const viewer = await resolveViewer(services, wsCredentials(wsCtx)).catch(() => null);
        if (!viewer) return false;
        (wsCtx.extra as { viewer?: Viewer }).viewer = viewer;
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
        const viewer = (wsCtx.extra as { viewer?: Viewer }).viewer ?? { kind: 'anonymous' as const };
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
