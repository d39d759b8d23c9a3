// Bindings the test configuration adds to the Worker's own.
import type { D1Migration } from '@cloudflare/vitest-pool-workers';
import type { Env as EdgeEnv } from '../../edge/env.ts';

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../../edge/index.ts');
    }
    interface Env extends EdgeEnv {
      MIGRATIONS: D1Migration[];
    }
  }
}
