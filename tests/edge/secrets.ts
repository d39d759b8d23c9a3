// Credentials of the test deployment (bindings in vitest.config.ts; the tests present them).
export const TEST_ADMIN_TOKEN = 'test-admin-token';
/** A backend credential put in every test file's D1 by apply-migrations.ts, bound to TEST_BACKEND_ID. */
export const TEST_BACKEND_SECRET = 'test-backend-secret';
export const TEST_BACKEND_ID = 'test-backend';
/** The edge's Ed25519 seed (base64url) in tests; the stand-in backends verify its signatures. */
export const TEST_EDGE_SIGNING_KEY = 'AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o';
