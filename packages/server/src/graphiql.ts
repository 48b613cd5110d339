import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, normalize, sep } from 'node:path';
import { type GraphiQLOptions, type Plugin, renderGraphiQL } from 'graphql-yoga';

/**
 * GraphiQL without internet: Yoga's page loads its script, styles and editor workers from a CDN,
 * so offline it stays at "Loading…". The same files ship in the @graphql-yoga/graphiql package;
 * the server serves them under ASSETS and the page points there. Yoga still renders the page
 * (title, options, subscriptions protocol); only the asset addresses are rewritten.
 */
export const ASSETS = '/graphiql-assets';
const distDir = dirname(createRequire(import.meta.url).resolve('@graphql-yoga/graphiql'));
const TYPES: Record<string, string> = { '.js': 'application/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export function renderOfflineGraphiQL(opts: GraphiQLOptions): string {
  return renderGraphiQL(opts)
    .replace(/https:\/\/unpkg\.com\/@graphql-yoga\/graphiql@[^/]+\/dist\//g, `${ASSETS}/`)
    .replace(/<link rel=icon href=https:[^>]*>/, '');
}

/** Serves the package's dist files (the only files under ASSETS; nothing outside that folder). */
export function graphiqlAssetsPlugin(): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(`${ASSETS}/`)) return;
      const rel = normalize(decodeURIComponent(url.pathname.slice(ASSETS.length + 1)));
      const file = join(distDir, rel);
      const type = TYPES[rel.slice(rel.lastIndexOf('.'))];
      if (!type || rel.startsWith('..') || !file.startsWith(distDir + sep)) {
        endResponse(new fetchAPI.Response('Not found', { status: 404 }));
        return;
      }
      try {
        const body = await readFile(file);
        endResponse(new fetchAPI.Response(body, { headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' } }));
      } catch {
        endResponse(new fetchAPI.Response('Not found', { status: 404 }));
      }
    },
  };
}
