import type * as NodeCrypto from 'node:crypto';

/*
 * node:crypto, loaded when first used rather than when a module importing it
 * is: compiling it is ~8 ms of a short command such as `reprod status -q`,
 * which, its hashes all found in the state cache, never asks it for one.
 * `process.getBuiltinModule` (Node 20.16) loads it synchronously and hands
 * back the same module an import would.
 */

let loaded: typeof NodeCrypto | undefined;

/** node:crypto itself, loaded on the first call. */
export function nodeCrypto(): typeof NodeCrypto {
  return (loaded ??= process.getBuiltinModule('node:crypto'));
}

/** node:crypto's createHash. */
export function createHash(algorithm: string): NodeCrypto.Hash {
  return nodeCrypto().createHash(algorithm);
}

/** node:crypto's randomUUID. */
export function randomUUID(): string {
  return nodeCrypto().randomUUID();
}

/** node:crypto's randomBytes (synchronous). */
export function randomBytes(size: number): Buffer {
  return nodeCrypto().randomBytes(size);
}
