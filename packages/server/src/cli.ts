import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { DataDirLockedError } from './db/data-dir-lock.ts';
import { databaseOptions, openDatabase } from './db/database.ts';
import { AppError } from './errors.ts';
import { IMPORT_USAGE, importCommand } from './import-cli.ts';
import { createShop } from './modules/shops/shop.service.ts';

/**
 * Platform administration CLI.
 *   pnpm crm shop:create --name "My Shop" [--slug my-shop] [--owner-email a@b.c --owner-name "A B"]
 * Prints the new shop's publishable and secret keys (shown once).
 *   pnpm crm import <file> --kind customers|orders|interactions --mapping shopify|generic [--dry-run]
 * Imports a file into a running server (import-cli.ts, docs/import.md).
 */
const [command, ...rest] = process.argv.slice(2);
const usage = `usage: pnpm crm shop:create --name "My Shop" [--slug my-shop] [--owner-email owner@shop.com] [--owner-name "Owner"]\n       ${IMPORT_USAGE.replace('usage: ', '')}`;
if (command === 'help' || command === '--help') {
  console.log(usage);
  process.exit(0);
}
if (command === 'import') {
  process.exit(await importCommand(rest));
}
const config = loadConfig();
if (command !== 'shop:create') {
  console.error(usage);
  process.exit(2);
}
const { values } = parseArgs({
  args: rest,
  options: { name: { type: 'string' }, slug: { type: 'string' }, 'owner-email': { type: 'string' }, 'owner-name': { type: 'string' } },
});
if (!values.name) {
  console.error('--name is required');
  process.exit(2);
}
// On the embedded database this opens the folder itself, so it refuses while a server holds it
// (DataDirLockedError names that process): keys printed here are always in the database that the
// next server start reads.
const database = await openDatabase(databaseOptions(config, join(config.dataDir, 'pglite'))).catch((err: unknown) => {
  if (err instanceof DataDirLockedError) {
    console.error(`${err.message}\nRun \`pnpm crm\` while the server is stopped (or against PostgreSQL with DATABASE_URL).`);
    process.exit(1);
  }
  throw err;
});
try {
  const r = await createShop(database.prisma, {
    name: values.name,
    slug: values.slug,
    ownerEmail: values['owner-email'],
    ownerName: values['owner-name'],
  });
  console.log(JSON.stringify(r, null, 2));
} catch (err) {
  if (err instanceof AppError) {
    console.error(`${err.code}: ${err.message}`);
    process.exitCode = 1;
  } else throw err;
} finally {
  await database.close();
}
