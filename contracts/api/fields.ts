/** Field shapes that the public API and the edge-backend API both use. */
import { z } from '@hono/zod-openapi';

export const UnixSeconds = z.number().int().openapi({ description: 'Unix time in seconds.' });
