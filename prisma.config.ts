import { defineConfig } from 'prisma/config';

// Prisma 7 reads the connection URL from here (used by `prisma migrate deploy` on a real
// PostgreSQL). The server itself connects through a driver adapter (see packages/server/src/db).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
});
