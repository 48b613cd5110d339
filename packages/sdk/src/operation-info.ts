import { CrmError } from './errors.js';
import { idempotentInputTypes } from './generated/idempotency.js';
import type { OperationInfo } from './transport.js';

// Generated documents carry their OperationInfo; only documents given to `request()` as text
// (strings, hand-written TypedDocumentNodes) are analysed here, with a small scanner rather than
// graphql's parser so that `graphql` is never loaded at run time.
const idempotentTypes = new Set(idempotentInputTypes);
const analysed = new Map<string, OperationInfo>();

/** What kind of operation a document holds, its name, and which variables take an idempotent input type. */
export function analyseOperation(query: string): OperationInfo {
  const cached = analysed.get(query);
  if (cached) return cached;
  const text = query.replace(/#[^\n\r]*/g, '');
  const m = /(?:^|[\s}])(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?\s*(?:\(([^)]*)\))?\s*[{@]/.exec(text);
  const shorthand = text.trimStart().startsWith('{');
  const info: OperationInfo = {
    kind: shorthand ? 'query' : ((m?.[1] as OperationInfo['kind']) ?? 'query'),
    name: shorthand ? undefined : m?.[2],
    idempotentVariables: [],
  };
  for (const v of (shorthand ? '' : (m?.[3] ?? '')).matchAll(/\$([_A-Za-z][_0-9A-Za-z]*)\s*:\s*([_A-Za-z][_0-9A-Za-z]*)/g)) {
    if (idempotentTypes.has(v[2]!)) info.idempotentVariables?.push(v[1]!);
  }
  if (analysed.size > 500) analysed.clear();
  analysed.set(query, info);
  return info;
}

/** The OperationInfo of a document: its generated `__meta__`, else analysed from the text. Refuses subscriptions. */
export function operationInfo(document: unknown, text: string): OperationInfo {
  const meta = (document as { __meta__?: Partial<OperationInfo> } | null)?.__meta__;
  const info = meta?.kind ? (meta as OperationInfo) : analyseOperation(text);
  if (info.kind === 'subscription') {
    throw new CrmError('Subscriptions need a graphql-ws client (ws://…/graphql); request() is for queries and mutations', {
      code: 'UNSUPPORTED_OPERATION',
    });
  }
  return info;
}
