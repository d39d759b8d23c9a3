// `npx drizzle-kit generate` turns schema/ into SQL under migrations/, which wrangler applies to D1.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './schema/index.ts',
  out: './migrations',
});
