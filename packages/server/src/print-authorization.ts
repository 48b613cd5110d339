import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GraphQLField } from 'graphql';
import { describeDeclaration, type ScopeDeclaration } from './modules/auth/auth.policy.ts';
import { schema } from './schema.ts';

/**
 * Rewrites the field-by-field table of docs/authorization.md from the declarations on the schema
 * (`pnpm --filter @crm/server docs:authorization`); tests/permission-matrix.test.ts checks the
 * page against the schema, so a new field's row comes from here, not by hand.
 */
const declarationOf = (f: GraphQLField<unknown, unknown>) =>
  (f.extensions as { pothosOptions?: { authScopes?: ScopeDeclaration } }).pothosOptions?.authScopes ?? {};
const rows: string[] = [];
for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
  for (const f of Object.values(type?.getFields() ?? {}))
    rows.push(`| ${type?.name} | \`${f.name}\` | ${describeDeclaration(declarationOf(f))} |`);
}
const file = join(import.meta.dirname, '../../../docs/authorization.md');
const doc = readFileSync(file, 'utf8');
const lines = doc.split('\n');
const first = lines.findIndex((l) => /^\| (Query|Mutation|Subscription) \| `/.test(l));
let last = first;
while (last + 1 < lines.length && /^\| (Query|Mutation|Subscription) \| `/.test(lines[last + 1] ?? '')) last++;
if (first < 0) throw new Error('no policy table found in docs/authorization.md');
lines.splice(first, last - first + 1, ...rows);
writeFileSync(file, lines.join('\n'));
console.log(`docs/authorization.md: ${rows.length} fields`);
