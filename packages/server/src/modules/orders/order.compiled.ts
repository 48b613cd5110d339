import { registerFieldCompiler, relatedConnectionSql } from '../../compiled/compiler.ts';

/**
 * Order reads on the compiled path (compiled/compiler.ts): `Customer.orders(first:)`, newest
 * (placedAt) first as in order.graphql.ts; the Order fields are exposed columns and relations, read
 * by the compiler itself. tests/compiled-reads.test.ts holds both paths to the same answers.
 */
registerFieldCompiler('Customer.orders', (c, f) =>
  relatedConnectionSql(c, f, {
    model: 'Order',
    fk: 'customerId',
    order: [
      ['placedAt', 'DESC'],
      ['id', 'DESC'],
    ],
  }),
);
