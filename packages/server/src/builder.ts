import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ValidationPlugin from '@pothos/plugin-validation';
import type { Context } from './context.ts';
import { ForbiddenError, ValidationError } from './errors.ts';
import type PrismaTypes from './generated/pothos-types.ts';
import { getDatamodel } from './generated/pothos-types.ts';
import type { PrismaClient } from './generated/prisma/client.ts';

/** The one Pothos builder. Setup only: types live in modules/. */
export const builder = new SchemaBuilder<{
  Context: Context;
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
  plugins: [ErrorsPlugin, ValidationPlugin, ComplexityPlugin, PrismaPlugin, RelayPlugin],
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
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
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: (ctx) => ({
      depth: ctx.services.config.maxQueryDepth,
      complexity: ctx.services.config.maxQueryComplexity,
      breadth: 200,
    }),
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
    clientMutationId: 'omit',
    cursorType: 'String',
    // node(id)/nodes(ids) read any type, so they need a secret key; each node type checks its own
    // read scope when it loads (a publishable key reads its customer through `me`).
    nodeQueryOptions: {
      resolve: (_root, { id }, ctx, _info, resolveNode) => {
        if (ctx.viewer.kind !== 'secret') throw new ForbiddenError('node(id) requires a secret key');
        return resolveNode(id);
      },
    },
    nodesQueryOptions: {
      resolve: (_root, { ids }, ctx, _info, resolveNodes) => {
        if (ctx.viewer.kind !== 'secret') throw new ForbiddenError('nodes(ids) requires a secret key');
        return resolveNodes(ids);
      },
    },
  },
});
