import { type DocumentNode, Kind, type ValueNode, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type FieldIssue, ValidationError } from '../errors.ts';

/**
 * The one place where every input string and structure is checked, before any resolver runs:
 * argument literals in the document and variable values, for queries, mutations and
 * subscriptions (HTTP and WebSocket). PostgreSQL refuses NUL in text and json (22P05/22021), and
 * a lone UTF-16 surrogate is not valid UTF-8: both would otherwise fail deep inside a write.
 * JSON inputs (customer attributes, metadata) are bounded in depth and size so a 5,000-deep
 * object cannot reach the database or a recursive walk.
 *
 * Hand-written because it is specific to this API's storage (what PostgreSQL accepts); the
 * document itself is bounded earlier, before parsing, by graphql-armor's token limit.
 */
export const INPUT_LIMITS = {
  /** Nesting of objects / lists in one argument or variable. */
  depth: 32,
  /** Values (scalars, list items, object fields) in all variables of one request. */
  nodes: 50_000,
};

/** C0 controls except tab, line feed and carriage return; DEL. (Control characters are the point here.) */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is this regex's job
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` is not an acceptable string, or null when it is. */
export function stringProblem(s: string): string | null {
  const bad = s.match(FORBIDDEN);
  if (bad) return `Contains a character that is not allowed (U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
  if (LONE_SURROGATE.test(s)) return 'Contains an unpaired surrogate (not valid Unicode)';
  return null;
}

type State = { nodes: number; issues: FieldIssue[] };

function checkJs(v: unknown, path: string[], depth: number, st: State): void {
  if (st.issues.length) return;
  if (++st.nodes > INPUT_LIMITS.nodes) {
    st.issues.push({ path, message: `Too many values in the variables (at most ${INPUT_LIMITS.nodes})`, code: 'too_large' });
    return;
  }
  if (typeof v === 'string') {
    const p = stringProblem(v);
    if (p) st.issues.push({ path, message: p, code: 'invalid_string' });
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (depth >= INPUT_LIMITS.depth) {
    st.issues.push({ path, message: `Nested too deeply (at most ${INPUT_LIMITS.depth} levels)`, code: 'too_deep' });
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      checkJs(x, [...path, String(i)], depth + 1, st);
    });
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    const kp = stringProblem(k);
    if (kp) {
      st.issues.push({ path: [...path, k.replace(FORBIDDEN, '?')], message: `Key: ${kp}`, code: 'invalid_string' });
      return;
    }
    checkJs(x, [...path, k], depth + 1, st);
  }
}

function checkLiteral(v: ValueNode, path: string[], depth: number, st: State): void {
  if (st.issues.length) return;
  if (v.kind === Kind.STRING) {
    const p = stringProblem(v.value);
    if (p) st.issues.push({ path, message: p, code: 'invalid_string' });
    return;
  }
  if (v.kind !== Kind.LIST && v.kind !== Kind.OBJECT) return;
  if (depth >= INPUT_LIMITS.depth) {
    st.issues.push({ path, message: `Nested too deeply (at most ${INPUT_LIMITS.depth} levels)`, code: 'too_deep' });
    return;
  }
  if (v.kind === Kind.LIST) {
    v.values.forEach((x, i) => {
      checkLiteral(x, [...path, String(i)], depth + 1, st);
    });
    return;
  }
  for (const f of v.fields) {
    const kp = stringProblem(f.name.value);
    if (kp) st.issues.push({ path, message: kp, code: 'invalid_string' });
    checkLiteral(f.value, [...path, f.name.value], depth + 1, st);
  }
}

/**
 * The issues of a document's literals, per parsed document: Yoga's parser cache hands the same
 * DocumentNode to every request with the same query text, so a document is walked once, not on
 * every request (the variables are checked every time).
 */
const literalIssues = new WeakMap<DocumentNode, FieldIssue[]>();

/** Issues in a document's literals and a request's variables (empty when all is well). */
export function inputIssues(document: DocumentNode, variables: unknown): FieldIssue[] {
  let literal = literalIssues.get(document);
  if (!literal) {
    literal = documentIssues(document);
    literalIssues.set(document, literal);
  }
  if (literal.length) return [...literal];
  const st: State = { nodes: 0, issues: [] };
  if (variables && typeof variables === 'object') {
    for (const [name, v] of Object.entries(variables)) checkJs(v, [name], 0, st);
  }
  return st.issues;
}

function documentIssues(document: DocumentNode): FieldIssue[] {
  const st: State = { nodes: 0, issues: [] };
  visit(document, {
    Argument(node) {
      checkLiteral(node.value, [node.name.value], 0, st);
      return false;
    },
    VariableDefinition(node) {
      if (node.defaultValue) checkLiteral(node.defaultValue, [node.variable.name.value], 0, st);
      return false;
    },
  });
  return st.issues;
}

/** Refuses the operation with a ValidationError naming the field before anything runs. */
export function inputGuardPlugin(): Plugin {
  const check = (document: DocumentNode, variables: unknown) => {
    const issues = inputIssues(document, variables);
    if (issues.length) throw new ValidationError(issues);
  };
  return {
    onExecute({ args }) {
      check(args.document, args.variableValues);
    },
    onSubscribe({ args }) {
      check(args.document, args.variableValues);
    },
  };
}
