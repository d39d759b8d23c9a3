import { defineConfig } from 'vitest/config';

// One config, one project per part: each part's tests run where that part runs.
export default defineConfig({
  test: {
    projects: [
      'tests/edge/vitest.config.ts',
      {
        test: {
          name: 'backend',
          include: ['tests/backend/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
