import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Services, Viewer } from '../context.ts';
import { viewerOfRequest } from './request-viewer.ts';

/**
 * Limits on the GraphQL document, from graphql-armor: tokens (counted by the lexer while parsing,
 * so a 1,000,000-token document or a 3,000-deep list literal stops at MAX_QUERY_TOKENS instead of
 * costing seconds or overflowing the parser's stack), aliases and directives; the document's size
 * in bytes is checked before parsing. Depth and complexity are plugin-complexity's (builder.ts).
 * Introspection and "Did you mean …" suggestions are for secret keys only in production
 * (INTROSPECTION=secret), so the schema is not handed to anonymous or storefront callers.
 */
const kindOf = new WeakMap<Request, Viewer['kind']>();

/** Brackets ({, [, () opened at once; the parser recurses per level, so this is checked before it runs. */
export const MAX_DOCUMENT_NESTING = 100;

/**
 * The deepest bracket nesting of a GraphQL document, outside strings and comments. Hand-written
 * (a few lines): graphql-armor's depth limit works on the parsed document, but a 3,000-deep list
 * literal overflows the parser's stack before there is one.
 */
export function documentNesting(q: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '#') {
      while (i < q.length && q[i] !== '\n' && q[i] !== '\r') i++;
    } else if (c === '"') {
      if (q.startsWith('"""', i)) {
        const end = q.indexOf('"""', i + 3);
        i = end < 0 ? q.length : end + 2;
      } else {
        for (i++; i < q.length && q[i] !== '"' && q[i] !== '\n'; i++) if (q[i] === '\\') i++;
      }
    } else if (c === '{' || c === '[' || c === '(') {
      if (++depth > max) max = depth;
    } else if (c === '}' || c === ']' || c === ')') depth--;
  }
  return max;
}

export function queryLimitPlugins(services: Services): Plugin[] {
  const l = services.config.limits;
  const opened = (request: Request | undefined) => {
    if (l.introspection === 'all') return true;
    if (l.introspection === 'none' || !request) return false;
    return kindOf.get(request) === 'secret';
  };
  const suggestions = blockFieldSuggestionsPlugin() as Plugin;
  const gate: Plugin = {
    async onParams({ params, request, setResult }) {
      if (typeof params.query === 'string' && Buffer.byteLength(params.query) > l.maxDocumentBytes) {
        setResult({
          errors: [
            new GraphQLError(`The document is larger than ${l.maxDocumentBytes} bytes`, {
              extensions: { code: 'QUERY_TOO_LARGE', http: { status: 413 } },
            }),
          ],
        });
        return;
      }
      if (typeof params.query === 'string' && documentNesting(params.query) > MAX_DOCUMENT_NESTING) {
        setResult({
          errors: [
            new GraphQLError(`The document nests brackets more than ${MAX_DOCUMENT_NESTING} deep`, {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
            }),
          ],
        });
        return;
      }
      if (l.introspection === 'secret') {
        const v = await viewerOfRequest(services, request).catch(() => null);
        kindOf.set(request, v?.kind ?? 'anonymous');
      }
    },
    onValidate(payload) {
      const request = (payload.context as { request?: Request }).request;
      if (opened(request)) return;
      payload.addValidationRule(NoSchemaIntrospectionCustomRule);
      // graphql-armor's suggestion masking, applied to this request only.
      return (suggestions.onValidate as (p: typeof payload) => ReturnType<NonNullable<Plugin['onValidate']>>)?.(payload);
    },
  };
  return [
    maxTokensPlugin({ n: l.maxTokens }) as Plugin,
    maxAliasesPlugin({ n: l.maxAliases, allowList: [] }) as Plugin,
    maxDirectivesPlugin({ n: l.maxDirectives }) as Plugin,
    gate,
  ];
}
