// Credentials of the test deployment (bindings in vitest.config.ts; the tests present them).
export const TEST_ADMIN_TOKEN = 'test-admin-token';
export const TEST_BACKEND_SECRET = 'test-backend-secret';
