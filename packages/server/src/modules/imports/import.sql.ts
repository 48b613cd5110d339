import { Prisma } from '../../generated/prisma/client.ts';

/**
 * The set-based statements of a bulk import (docs/import.md): one batch of rows goes in as one
 * JSON parameter (`json_to_recordset`), and each batch is ONE statement of data-modifying CTEs in
 * its own transaction: customers (insert / update what changed), their first stage, tags and
 * consents with their history; or orders with their items. The order counting trigger derives
 * base-currency amounts as for any order (docs/money.md).
 */

/**
 * The audit entry of one batch (docs/audit.md): the row trigger records nothing for a bulk import
 * (its audit context carries `bulk`, the ImportJob id), so each batch writes ONE entry with the
 * context's actor and operation, action IMPORT, entity the ImportJob, `fields` the audited tables
 * written, and `changes` the ids created and updated per table plus row counts of the rest. No
 * values are copied, so erasure has nothing to redact here. Nothing without a bulk context.
 */
function auditSql(shop: Prisma.Sql, tables: string[], changes: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    aud AS (
      INSERT INTO "AuditEntry" ("shopId", "actorKind", "actorKeyId", "actorStaffId", "actorJob", operation, action, "entityType", "entityId", fields, changes)
      SELECT ${shop}, (a->>'kind')::"AuditActorKind", (a->>'key')::uuid, (a->>'staff')::uuid, a->>'job', COALESCE(a->>'op', 'startImport'),
        'IMPORT', 'ImportJob', a->>'bulk', ${tables}::text[], ${changes}
      FROM (SELECT nullif(current_setting('crm.audit', true), '')::jsonb AS a) ctx
      WHERE a ? 'bulk'
      RETURNING "shopId"
    )`;
}
const ids = (cte: string) => Prisma.raw(`COALESCE((SELECT jsonb_agg(id ORDER BY id) FROM ${cte}), '[]'::jsonb)`);
const rowCount = (cte: string) => Prisma.raw(`(SELECT count(*) FROM ${cte})`);

/** Customer columns an import may set: [column, type in the JSON record, SQL cast of the value]. */
const CUSTOMER_COLUMNS: [string, string, string?][] = [
  ['externalId', 'text'],
  ['email', 'text'],
  ['phone', 'text'],
  ['firstName', 'text'],
  ['lastName', 'text'],
  ['company', 'text'],
  ['jobTitle', 'text'],
  ['occupation', 'text'],
  ['industry', 'text'],
  ['gender', 'text', '"Gender"'],
  ['birthDate', 'date'],
  ['maritalStatus', 'text', '"MaritalStatus"'],
  ['incomeBand', 'text', '"IncomeBand"'],
  ['country', 'text'],
  ['region', 'text'],
  ['city', 'text'],
  ['postalCode', 'text'],
  ['addressLine', 'text'],
  ['householdNotes', 'text'],
  ['productInterests', 'text[]'],
  ['stylePreferences', 'text'],
  ['purchasePurpose', 'text'],
  ['priceSensitivity', 'text', '"PriceSensitivity"'],
  ['personality', 'text'],
  ['hobbies', 'text[]'],
  ['preferredChannel', 'text', '"ContactChannel"'],
  ['preferredContactTime', 'text', '"ContactTime"'],
  ['contactTolerance', 'text', '"ContactTolerance"'],
  ['dealLikelihood', 'int'],
  ['ownerId', 'uuid'],
  ['sourceChannel', 'text', '"SourceChannel"'],
  ['sourceCampaign', 'text'],
  ['sourceMedium', 'text'],
  ['sourceContent', 'text'],
  ['sourceReferrerName', 'text'],
  ['sourceReferrerContact', 'text'],
];

const q = (name: string) => `"${name}"`;
const val = (col: string, cast?: string) => (cast ? `r.${q(col)}::${cast}` : `r.${q(col)}`);

const CUSTOMER_RECORD = Prisma.raw(
  `i int, id uuid, "new" boolean, stage text, tags text[], consents json, attributes jsonb, ${CUSTOMER_COLUMNS.map(([c, t]) => `${q(c)} ${t}`).join(', ')}`,
);
const INSERT_COLUMNS = Prisma.raw(CUSTOMER_COLUMNS.map(([c]) => q(c)).join(', '));
const INSERT_VALUES = Prisma.raw(CUSTOMER_COLUMNS.map(([c, , cast]) => val(c, cast)).join(', '));
const UPDATE_SET = Prisma.raw(CUSTOMER_COLUMNS.map(([c, , cast]) => `${q(c)} = COALESCE(${val(c, cast)}, c.${q(c)})`).join(', '));
const CHANGED = Prisma.raw(
  [
    ...CUSTOMER_COLUMNS.map(([c, , cast]) => `(${val(c, cast)} IS NOT NULL AND ${val(c, cast)} IS DISTINCT FROM c.${q(c)})`),
    `(r.attributes IS NOT NULL AND c.attributes || r.attributes IS DISTINCT FROM c.attributes)`,
  ].join(' OR '),
);

const customerGid = (expr: string) => Prisma.raw(`encode(convert_to('Customer:' || ${expr}::text, 'UTF8'), 'base64')`);
const interactionGid = (expr: string) => Prisma.raw(`encode(convert_to('Interaction:' || ${expr}::text, 'UTF8'), 'base64')`);
const orderGid = (expr: string) => Prisma.raw(`encode(convert_to('Order:' || ${expr}::text, 'UTF8'), 'base64')`);

/** A customer's live id (a merged duplicate leads to its survivor). */
const live = (alias: string) => Prisma.raw(`CASE WHEN ${alias}.status = 'MERGED' THEN ${alias}."mergedIntoId" ELSE ${alias}.id END`);

/** Existing customers matching each row's externalId / email / phone (each unique per shop; merged ones followed one hop). */
export function customerMatchSql(shop: Prisma.Sql, keys: string): Prisma.Sql {
  return Prisma.sql`
    SELECT ${shop} AS "shopId", r.i, ${live('ce')} AS "byExternalId", ${live('cm')} AS "byEmail", ${live('cp')} AS "byPhone"
    FROM json_to_recordset(${keys}::json) AS r(i int, ext text, email text, phone text)
    LEFT JOIN "Customer" ce ON ce."shopId" = ${shop} AND ce."externalId" = r.ext
    LEFT JOIN "Customer" cm ON cm."shopId" = ${shop} AND cm.email = r.email
    LEFT JOIN "Customer" cp ON cp."shopId" = ${shop} AND cp.phone = r.phone`;
}

/** The external id, email and phone the matched customers hold now (conflict checks). */
export function customerIdentitySql(shop: Prisma.Sql, ids: string[]): Prisma.Sql {
  return Prisma.sql`
    SELECT "shopId", id, "externalId", email, phone FROM "Customer"
    WHERE "shopId" = ${shop} AND id = ANY(${ids}::uuid[])`;
}

/**
 * Writes one batch of customers. `rows`: JSON array of records (CUSTOMER_RECORD), `new` ones with
 * a fresh id. Returns the customers touched, once per kind: c (created), u (columns changed), t (tag
 * added), k (consent changed); t and k only for customers the batch did not create.
 */
export function customerWriteSql(shop: Prisma.Sql, rows: string, rowEvents: boolean): Prisma.Sql {
  return Prisma.sql`
    src AS (SELECT * FROM json_to_recordset(${rows}::json) AS r(${CUSTOMER_RECORD})),
    ins AS (
      INSERT INTO "Customer" (id, "shopId", stage, attributes, ${INSERT_COLUMNS})
      SELECT r.id, ${shop}, COALESCE(r.stage, 'PROSPECT')::"LifecycleStage", COALESCE(r.attributes, '{}'::jsonb), ${INSERT_VALUES}
      FROM src r WHERE r."new"
      RETURNING "shopId", id, stage, "sourceChannel"
    ),
    upd AS (
      UPDATE "Customer" c SET ${UPDATE_SET}, attributes = c.attributes || COALESCE(r.attributes, '{}'::jsonb),
        version = c.version + 1, "updatedAt" = now()
      FROM src r
      WHERE NOT r."new" AND c."shopId" = ${shop} AND c.id = r.id AND (${CHANGED})
      RETURNING c."shopId", c.id, c.version
    ),
    st AS (
      INSERT INTO "StageTransition" ("shopId", "customerId", "fromStage", "toStage", source, reason)
      SELECT "shopId", id, NULL, stage, 'IMPORT', 'Imported' FROM ins
      RETURNING "shopId"
    ),
    tagnames AS (SELECT DISTINCT t AS name FROM src r, unnest(r.tags) t),
    newtags AS (
      INSERT INTO "Tag" ("shopId", name) SELECT ${shop}, name FROM tagnames
      ON CONFLICT ("shopId", name) DO NOTHING
      RETURNING "shopId", id, name
    ),
    tags AS (
      SELECT id, name FROM newtags
      UNION ALL SELECT t.id, t.name FROM "Tag" t JOIN tagnames n ON n.name = t.name WHERE t."shopId" = ${shop}
    ),
    ct AS (
      INSERT INTO "CustomerTag" ("shopId", "customerId", "tagId")
      SELECT DISTINCT ${shop}, r.id, tags.id FROM src r, unnest(r.tags) t JOIN tags ON tags.name = t
      ON CONFLICT DO NOTHING
      RETURNING "shopId", "customerId"
    ),
    cin AS (
      SELECT r.id AS "customerId", x.* FROM src r,
        json_to_recordset(COALESCE(r.consents, '[]'::json)) AS x(channel text, granted boolean, wording text, "textVersion" text, "legalBasis" text, "sourceUrl" text)
    ),
    cup AS (
      INSERT INTO "Consent" ("shopId", "customerId", channel, granted, source, "updatedAt", wording, "textVersion", "legalBasis", "sourceUrl")
      SELECT ${shop}, x."customerId", x.channel::"ConsentChannel", x.granted, 'import', now(), x.wording, x."textVersion",
        x."legalBasis"::"ConsentLegalBasis", x."sourceUrl"
      FROM cin x
      ON CONFLICT ("customerId", channel) DO UPDATE SET granted = EXCLUDED.granted, source = EXCLUDED.source,
        "updatedAt" = EXCLUDED."updatedAt", wording = EXCLUDED.wording, "textVersion" = EXCLUDED."textVersion",
        "legalBasis" = EXCLUDED."legalBasis", "sourceUrl" = EXCLUDED."sourceUrl", ip = NULL, "userAgent" = NULL,
        "pendingConfirmation" = false, "confirmationTokenHash" = NULL, "confirmationExpiresAt" = NULL, "confirmedAt" = NULL
      WHERE "Consent".granted IS DISTINCT FROM EXCLUDED.granted OR "Consent"."pendingConfirmation"
      RETURNING "shopId", "customerId", channel, granted, wording, "textVersion", "legalBasis", "sourceUrl", "updatedAt"
    ),
    cch AS (
      INSERT INTO "ConsentChange" ("shopId", "customerId", channel, granted, source, "changedAt", wording, "textVersion", "legalBasis", "sourceUrl")
      SELECT "shopId", "customerId", channel, granted, 'import', "updatedAt", wording, "textVersion", "legalBasis", "sourceUrl" FROM cup
      RETURNING "shopId"
    ),
    touched AS (
      SELECT "shopId", id, 'c' AS kind FROM ins
      UNION ALL SELECT "shopId", id, 'u' FROM upd
      UNION ALL SELECT "shopId", "customerId", 't' FROM ct
      UNION ALL SELECT "shopId", "customerId", 'k' FROM cup
    ),
    ev AS (
      INSERT INTO "Event" ("shopId", type, "customerId", payload)
      SELECT e."shopId", e.type, e.id, e.payload FROM (
        SELECT "shopId", 'CUSTOMER_CREATED' AS type, id, jsonb_build_object('customerId', ${customerGid('id')}, 'stage', stage,
          'sourceChannel', "sourceChannel", 'origin', 'import') AS payload, 1 AS o FROM ins
        UNION ALL
        SELECT "shopId", 'LEAD_CAPTURED', id, jsonb_build_object('customerId', ${customerGid('id')}, 'stage', stage,
          'sourceChannel', "sourceChannel", 'origin', 'import'), 2 FROM ins WHERE stage::text IN ('SUSPECT', 'PROSPECT')
        UNION ALL
        SELECT DISTINCT ON (t.id) t."shopId", 'CUSTOMER_UPDATED', t.id, jsonb_build_object('customerId', ${customerGid('t.id')},
          'fields', jsonb_build_array('import')), 3 FROM touched t WHERE t.kind <> 'c' AND t.id NOT IN (SELECT id FROM ins)
      ) e WHERE ${rowEvents}::boolean
      ORDER BY e.id, e.o
      RETURNING "shopId"
    ),
    changed AS (SELECT DISTINCT id FROM touched WHERE kind <> 'c' AND id NOT IN (SELECT id FROM ins)),
    ${auditSql(
      shop,
      ['Customer', 'Tag', 'CustomerTag', 'Consent'],
      Prisma.sql`jsonb_build_object('created', jsonb_build_object('Customer', ${ids('ins')}, 'Tag', ${ids('newtags')}),
        'updated', jsonb_build_object('Customer', ${ids('changed')}),
        'rows', jsonb_build_object('CustomerTag', ${rowCount('ct')}, 'Consent', ${rowCount('cup')}))`,
    )},
    written AS (
      -- a created customer's tag and consent rows need no id of their own (the caller counts it as created)
      SELECT "shopId", CASE WHEN kind = 'c' OR id NOT IN (SELECT id FROM ins) THEN id END AS id, kind FROM touched
      UNION ALL SELECT "shopId", NULL::uuid, 's' FROM st
      UNION ALL SELECT "shopId", NULL::uuid, 'h' FROM cch
      UNION ALL SELECT "shopId", NULL::uuid, 'e' FROM ev
      UNION ALL SELECT "shopId", NULL::uuid, 'a' FROM aud
    )`;
}

/** Existing orders (by externalId) and customers (by externalId / email / phone) of a batch of orders. */
export function orderMatchSql(shop: Prisma.Sql, keys: string): Prisma.Sql {
  return Prisma.sql`
    SELECT ${shop} AS "shopId", r.i, o.id AS "orderId", ${live('ce')} AS "byExternalId", ${live('cm')} AS "byEmail", ${live('cp')} AS "byPhone"
    FROM json_to_recordset(${keys}::json) AS r(i int, ext text, cext text, email text, phone text)
    LEFT JOIN "Order" o ON o."shopId" = ${shop} AND o."externalId" = r.ext
    LEFT JOIN "Customer" ce ON ce."shopId" = ${shop} AND ce."externalId" = r.cext
    LEFT JOIN "Customer" cm ON cm."shopId" = ${shop} AND cm.email = r.email
    LEFT JOIN "Customer" cp ON cp."shopId" = ${shop} AND cp.phone = r.phone`;
}

/** Customers an order batch needs that do not exist yet (guest checkouts): created with their first stage. */
export function guestCustomersSql(shop: Prisma.Sql, rows: string, rowEvents: boolean): Prisma.Sql {
  return Prisma.sql`
    src AS (SELECT * FROM json_to_recordset(${rows}::json) AS r(id uuid, "externalId" text, email text, phone text, "firstName" text, "lastName" text)),
    ins AS (
      INSERT INTO "Customer" (id, "shopId", "externalId", email, phone, "firstName", "lastName", stage)
      SELECT r.id, ${shop}, r."externalId", r.email, r.phone, r."firstName", r."lastName", 'PROSPECT' FROM src r
      RETURNING "shopId", id, stage
    ),
    st AS (
      INSERT INTO "StageTransition" ("shopId", "customerId", "fromStage", "toStage", source, reason)
      SELECT "shopId", id, NULL, stage, 'IMPORT', 'Imported with an order' FROM ins RETURNING "shopId"
    ),
    ev AS (
      INSERT INTO "Event" ("shopId", type, "customerId", payload)
      SELECT "shopId", 'CUSTOMER_CREATED', id, jsonb_build_object('customerId', ${customerGid('id')}, 'stage', stage, 'origin', 'import')
      FROM ins WHERE ${rowEvents}::boolean ORDER BY id
      RETURNING "shopId"
    ),
    ${auditSql(shop, ['Customer'], Prisma.sql`jsonb_build_object('created', jsonb_build_object('Customer', ${ids('ins')}))`)},
    written AS (
      SELECT "shopId", id, 'c' AS kind FROM ins UNION ALL SELECT "shopId", NULL::uuid, 's' FROM st
      UNION ALL SELECT "shopId", NULL::uuid, 'e' FROM ev UNION ALL SELECT "shopId", NULL::uuid, 'a' FROM aud
    )`;
}

const ORDER_RECORD = Prisma.raw(
  `i int, id uuid, "new" boolean, "externalId" text, "customerId" uuid, channel text, status text, "placedAt" timestamptz, currency text,
   subtotal numeric, discount numeric, tax numeric, shipping numeric, total numeric, refunded numeric, "exchangeRate" numeric, items json`,
);
const ITEM_RECORD = Prisma.raw(`pos int, sku text, name text, quantity int, "unitPrice" numeric, "addOn" boolean`);
const ITEMS_OF = (alias: string) =>
  Prisma.raw(`(SELECT COALESCE(jsonb_agg(jsonb_build_array(x.sku, x.name, x.quantity, x."unitPrice"::numeric(14,2)::text, x."addOn") ORDER BY x.pos), '[]'::jsonb)
    FROM json_to_recordset(${alias}.items) AS x(pos int, sku text, name text, quantity int, "unitPrice" numeric, "addOn" boolean))`);

/**
 * Writes one batch of orders: new ones inserted, existing ones (same externalId) updated with
 * their items replaced when anything differs. The exchange rate: the row's, else the shop's rate
 * for the currency, else 1 for the base currency. Returns c (created) and
 * u (updated) rows with the order's customer.
 */
export function orderWriteSql(shop: Prisma.Sql, rows: string, rowEvents: boolean, baseCurrency: string): Prisma.Sql {
  return Prisma.sql`
    src AS (
      -- The base currency's rate is 1 (what the counting trigger would take), given here so the
      -- trigger does not look up the shop per row (the shop's currency now, read once per
      -- statement); other currencies: the shop's rate, by hash join.
      SELECT r.*, COALESCE(r."exchangeRate", x.rate,
        CASE WHEN r.currency = (SELECT s."baseCurrency" FROM "Shop" s WHERE s.id = ${shop}) THEN 1 END) AS rate
      FROM json_to_recordset(${rows}::json) AS r(${ORDER_RECORD})
      LEFT JOIN "ExchangeRate" x ON x."shopId" = ${shop} AND x.currency = r.currency
    ),
    chg AS (
      SELECT r.* FROM src r JOIN "Order" o ON o."shopId" = ${shop} AND o.id = r.id
      WHERE NOT r."new" AND (
        ROW(o."customerId", o.channel::text, o.status::text, o."placedAt", o.currency, o.subtotal, o.discount, o.tax, o.shipping, o.total, o.refunded)
          IS DISTINCT FROM ROW(r."customerId", r.channel, r.status, r."placedAt", r.currency, r.subtotal::numeric(14,2), r.discount::numeric(14,2),
            r.tax::numeric(14,2), r.shipping::numeric(14,2), r.total::numeric(14,2), r.refunded::numeric(14,2))
        OR (r."exchangeRate" IS NOT NULL AND o."exchangeRate" IS DISTINCT FROM r."exchangeRate")
        OR (SELECT COALESCE(jsonb_agg(jsonb_build_array(it.sku, it.name, it.quantity, it."unitPrice"::text, it."addOn") ORDER BY it.position), '[]'::jsonb)
            FROM "OrderItem" it WHERE it."shopId" = ${shop} AND it."orderId" = o.id) IS DISTINCT FROM ${ITEMS_OF('r')}
      )
    ),
    ins AS (
      INSERT INTO "Order" (id, "shopId", "customerId", "externalId", channel, status, "placedAt", currency, subtotal, discount, tax, shipping, total, refunded, "exchangeRate")
      SELECT r.id, ${shop}, r."customerId", r."externalId", r.channel::"OrderChannel", r.status::"OrderStatus", r."placedAt", r.currency,
        r.subtotal, r.discount, r.tax, r.shipping, r.total, r.refunded, r.rate
      FROM src r WHERE r."new"
      RETURNING "shopId", id, "customerId", "externalId", status, channel, currency, total, refunded, "countedTotal", excluded
    ),
    upd AS (
      UPDATE "Order" o SET "customerId" = r."customerId", channel = r.channel::"OrderChannel", status = r.status::"OrderStatus",
        "placedAt" = r."placedAt", currency = r.currency, subtotal = r.subtotal, discount = r.discount, tax = r.tax, shipping = r.shipping,
        total = r.total, refunded = r.refunded,
        "exchangeRate" = CASE WHEN r."exchangeRate" IS NOT NULL THEN r."exchangeRate" WHEN o.currency = r.currency AND o."exchangeRate" IS NOT NULL THEN o."exchangeRate" ELSE r.rate END,
        "updatedAt" = now()
      FROM chg r WHERE o."shopId" = ${shop} AND o.id = r.id
      RETURNING o."shopId", o.id, o."customerId", o."externalId", o.status, o.channel, o.currency, o.total, o.refunded, o."countedTotal", o.excluded
    ),
    del AS (
      DELETE FROM "OrderItem" it USING chg r WHERE it."shopId" = ${shop} AND it."orderId" = r.id RETURNING it."shopId"
    ),
    items AS (
      INSERT INTO "OrderItem" ("shopId", "orderId", position, sku, name, quantity, "unitPrice", "addOn")
      SELECT ${shop}, r.id, x.pos, x.sku, x.name, x.quantity, x."unitPrice", COALESCE(x."addOn", false)
      FROM (SELECT id, items FROM src WHERE "new" UNION ALL SELECT id, items FROM chg) r,
        json_to_recordset(r.items) AS x(${ITEM_RECORD})
      RETURNING "shopId"
    ),
    touched AS (
      SELECT *, true AS created FROM ins UNION ALL SELECT *, false FROM upd
    ),
    ev AS (
      INSERT INTO "Event" ("shopId", type, "customerId", payload)
      SELECT "shopId", 'ORDER_RECORDED', "customerId", jsonb_build_object('orderId', ${orderGid('id')}, 'customerId', ${customerGid('"customerId"')},
        'externalId', "externalId", 'status', status, 'channel', channel, 'currency', currency, 'total', total::text,
        'refunded', refunded::text, 'baseCurrency', ${baseCurrency}::text, 'countedTotal', "countedTotal"::text, 'excluded', excluded,
        'created', created, 'origin', 'import')
      FROM touched WHERE ${rowEvents}::boolean ORDER BY id
      RETURNING "shopId"
    ),
    ${auditSql(
      shop,
      ['Order'],
      Prisma.sql`jsonb_build_object('created', jsonb_build_object('Order', ${ids('ins')}), 'updated', jsonb_build_object('Order', ${ids('upd')}),
        'rows', jsonb_build_object('OrderItem', ${rowCount('items')}))`,
    )},
    written AS (
      SELECT "shopId", id, "customerId", CASE WHEN created THEN 'c' ELSE 'u' END AS kind FROM touched
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'i' FROM items
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'd' FROM del
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'e' FROM ev
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'a' FROM aud
    )`;
}

/**
 * Existing interactions and customers of a batch of interactions: by the interaction's externalId;
 * without one, an interaction of the same customer with the same time, type, channel, direction
 * and subject (so a re-run of a file without ids duplicates nothing); the customer by externalId /
 * email / phone (merged ones followed one hop).
 */
export function interactionMatchSql(shop: Prisma.Sql, keys: string): Prisma.Sql {
  return Prisma.sql`
    SELECT ${shop} AS "shopId", r.i, COALESCE(x.id, n.id) AS "interactionId", m.customer AS "customerId"
    FROM json_to_recordset(${keys}::json) AS r(i int, ext text, cext text, email text, phone text, at timestamptz, type text, channel text,
      direction text, subject text)
    LEFT JOIN "Customer" ce ON ce."shopId" = ${shop} AND ce."externalId" = r.cext
    LEFT JOIN "Customer" cm ON cm."shopId" = ${shop} AND cm.email = r.email
    LEFT JOIN "Customer" cp ON cp."shopId" = ${shop} AND cp.phone = r.phone
    CROSS JOIN LATERAL (SELECT COALESCE(${live('ce')}, ${live('cm')}, ${live('cp')}) AS customer) m
    LEFT JOIN "Interaction" x ON x."shopId" = ${shop} AND x."externalId" = r.ext
    LEFT JOIN LATERAL (
      SELECT s.id FROM "Interaction" s
      WHERE r.ext IS NULL AND s."shopId" = ${shop} AND s."customerId" = m.customer AND s."occurredAt" = r.at AND s."externalId" IS NULL
        AND s.type::text = r.type AND s.channel::text = r.channel AND s.direction::text = r.direction AND s.subject IS NOT DISTINCT FROM r.subject
      ORDER BY s.id LIMIT 1
    ) n ON true`;
}

const INTERACTION_RECORD = Prisma.raw(
  `i int, id uuid, "new" boolean, "externalId" text, "customerId" uuid, type text, channel text, direction text, "occurredAt" timestamptz,
   subject text, body text, sentiment text`,
);

/**
 * Writes one batch of interactions (source "import"): new ones inserted, matched ones updated when
 * a field differs. Returns c (created) and u (updated) rows with the customer.
 */
export function interactionWriteSql(shop: Prisma.Sql, rows: string, rowEvents: boolean): Prisma.Sql {
  return Prisma.sql`
    src AS (SELECT * FROM json_to_recordset(${rows}::json) AS r(${INTERACTION_RECORD})),
    ins AS (
      INSERT INTO "Interaction" (id, "shopId", "customerId", "externalId", type, channel, direction, "occurredAt", subject, body, sentiment, source)
      SELECT r.id, ${shop}, r."customerId", r."externalId", r.type::"InteractionType", r.channel::"InteractionChannel",
        r.direction::"InteractionDirection", r."occurredAt", r.subject, r.body, r.sentiment::"Sentiment", 'import'
      FROM src r WHERE r."new"
      RETURNING "shopId", id, "customerId", type, channel, direction
    ),
    upd AS (
      UPDATE "Interaction" x SET "customerId" = r."customerId", type = r.type::"InteractionType", channel = r.channel::"InteractionChannel",
        direction = r.direction::"InteractionDirection", "occurredAt" = r."occurredAt", subject = r.subject, body = r.body,
        sentiment = r.sentiment::"Sentiment", "updatedAt" = now()
      FROM src r
      WHERE NOT r."new" AND x."shopId" = ${shop} AND x.id = r.id
        AND ROW(x."customerId", x.type::text, x.channel::text, x.direction::text, x."occurredAt", x.subject, x.body, x.sentiment::text)
          IS DISTINCT FROM ROW(r."customerId", r.type, r.channel, r.direction, r."occurredAt", r.subject, r.body, r.sentiment)
      RETURNING x."shopId", x.id, x."customerId", x.type, x.channel, x.direction
    ),
    touched AS (SELECT *, true AS created FROM ins UNION ALL SELECT *, false FROM upd),
    ev AS (
      INSERT INTO "Event" ("shopId", type, "customerId", payload)
      SELECT "shopId", 'INTERACTION_RECORDED', "customerId", jsonb_build_object('interactionId', ${interactionGid('id')},
        'customerId', ${customerGid('"customerId"')}, 'channel', channel, 'direction', direction, 'type', type, 'source', 'import')
      FROM ins WHERE ${rowEvents}::boolean ORDER BY id
      RETURNING "shopId"
    ),
    ${auditSql(
      shop,
      ['Interaction'],
      Prisma.sql`jsonb_build_object('created', jsonb_build_object('Interaction', ${ids('ins')}), 'updated', jsonb_build_object('Interaction', ${ids('upd')}))`,
    )},
    written AS (
      SELECT "shopId", id, "customerId", CASE WHEN created THEN 'c' ELSE 'u' END AS kind FROM touched
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'e' FROM ev
      UNION ALL SELECT "shopId", NULL::uuid, NULL::uuid, 'a' FROM aud
    )`;
}
