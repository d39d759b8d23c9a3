// What global-setup.ts (Node) hands to the workerd tests and to vitest.config.ts.
import 'vitest';

declare module 'vitest' {
  interface ProvidedContext {
    s3Endpoint: string;
    s3Bucket: string;
    /** Stand-in backends; the last one drops every connection. */
    fakeBackends: string[];
  }
}
