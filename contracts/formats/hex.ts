/** Lower-case hex of bytes: how digests are written in manifests, keys' hashes and signatures. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
