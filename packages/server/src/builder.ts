import SchemaBuilder from '@pothos/core';
import ComplexityPlugin, { ComplexityErrorKind } from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { type AuthFailure, AuthScopeFailureType } from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import type { Context } from './context.ts';
import { ForbiddenError, QueryTooComplexError, UnauthenticatedError, ValidationError } from './errors.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import { type AuthScopes, describeRequirement, grantedScopes } from './modules/auth/auth.policy.ts';
import { decodeGlobalId } from './modules/common/graphql-helpers.ts';

/** The first scope a denied declaration missed, as the FORBIDDEN message. */
function firstMissing(f: AuthFailure): string | null {
  if (f.kind === AuthScopeFailureType.AuthScope) return describeRequirement(f.scope, f.parameter);
  if (f.kind === AuthScopeFailureType.AnyAuthScopes || f.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const c of f.failures) {
      const m = firstMissing(c);
      if (m) return m;
    }
  }
  return null;
}

/** The query limits plugin-complexity enforces (the compiled read path checks the same ones). */
export const complexityLimit = (ctx: Context) => ({
  depth: ctx.services.config.maxQueryDepth,
  complexity: ctx.services.config.maxQueryComplexity,
  breadth: 200,
});

/** The one Pothos builder. Setup only: types live in modules/. */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultAuthStrategy: 'all';
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Date: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    Decimal: { Input: string; Output: string | { toFixed(digits: number): string } };
  };
}>({
  defaultFieldNullability: false,
  // Errors first so mutations return FORBIDDEN as their union's ForbiddenError; scope-auth before
  // validation, so a caller that may not use a field learns nothing about its input rules.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, ValidationPlugin, ComplexityPlugin, PrismaPlugin, RelayPlugin],
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
  scopeAuth: {
    // Every field's `authScopes` lists scopes that must all hold (`$any` for a choice); see auth.policy.ts.
    defaultStrategy: 'all',
    authorizeOnSubscribe: true,
    authScopes: (ctx) => grantedScopes(ctx.viewer, () => ctx.agentGrants()),
    unauthorizedError: (_parent, ctx, _info, result) =>
      ctx.viewer.kind === 'anonymous' ? new UnauthenticatedError() : new ForbiddenError(firstMissing(result.failure) ?? result.message),
  },
  validation: {
    validationError: (result) =>
      new ValidationError(
        result.issues.map((i) => ({
          path: (i.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)),
          message: i.message,
          code: 'invalid',
        })),
      ),
  },
  complexity: {
    // The plugin's own error hook: a typed QUERY_TOO_COMPLEX (no classifying of messages later).
    complexityError: (kind, r) => {
      if (kind === ComplexityErrorKind.Depth) return new QueryTooComplexError('depth', r.depth, r.maxDepth ?? 0);
      if (kind === ComplexityErrorKind.Breadth) return new QueryTooComplexError('breadth', r.breadth, r.maxBreadth ?? 0);
      return new QueryTooComplexError('complexity', r.complexity, r.maxComplexity ?? 0);
    },
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: complexityLimit,
  },
  prisma: {
    // Modules never see an unscoped client: resolvers get the viewer's tenant-scoped client.
    client: (ctx) => ctx.db as unknown as PrismaClient,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  relay: {
    // The one parsing point of global id arguments: malformed ids are a VALIDATION_FAILED.
    decodeGlobalID: (globalID) => decodeGlobalId(globalID),
    clientMutationId: 'omit',
    cursorType: 'String',
    // node(id)/nodes(ids) read any type, so they need a secret key; each node type declares its own
    // read scope (a publishable key reads its customer through `me`).
    nodeQueryOptions: { authScopes: { secret: true } },
    nodesQueryOptions: { authScopes: { secret: true } },
  },
});
