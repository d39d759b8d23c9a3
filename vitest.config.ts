import { defineConfig } from 'vitest/config';

// One config, one project per part: each part's tests run where that part runs.
export default defineConfig({
  test: {
    projects: [
      'tests/edge/vitest.config.ts',
      {
        test: {
          name: 'backend',
          include: ['tests/backend/**/*.test.ts', 'tests/house.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The CLI's own checks; its end-to-end tests are in e2e.
        test: { name: 'cli', include: ['tests/cli/**/*.test.ts'], environment: 'node' },
      },
      {
        // The demo's pure parts (data, table, report); the demo itself runs against a live stack, by hand.
        test: { name: 'demo', include: ['tests/demo/**/*.test.ts'], environment: 'node' },
      },
      {
        // The engine on onnxruntime's WebGPU provider: a Vulkan GPU where there is one, else SwiftShader, a
        // Vulkan driver on the CPU shipped in an npm package (slow: only a few sessions, each checked closely).
        test: {
          name: 'webgpu',
          include: ['tests/webgpu/**/*.test.ts'],
          setupFiles: ['tests/webgpu/setup.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Real processes (s3rver, wrangler dev, the backend server) on loopback: slow to start, so generous limits.
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
