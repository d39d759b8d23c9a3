/**
 * Stand-in for `@aws-sdk/xml-builder` when bundling for workerd. Bundlers pick the package's browser build,
 * whose XML parser needs `DOMParser`, which workerd lacks; every S3 response parsed as XML (errors,
 * ListObjectsV2, CopyObject) then fails. This re-exports the same API with the package's pure-JS parser.
 * Wired in by `alias` in wrangler.toml and `resolve.alias` in tests/edge/vitest.config.ts.
 */
export { XmlNode } from '@aws-sdk/xml-builder/dist-es/XmlNode.js';
export { XmlText } from '@aws-sdk/xml-builder/dist-es/XmlText.js';
export { parseXML } from '@aws-sdk/xml-builder/dist-es/xml-parser.js';
