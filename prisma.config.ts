// Used by the Prisma CLI only (`prisma generate`, and `prisma migrate deploy`
// for operators who prefer it to the server's built-in migrator).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/attestd' },
});
