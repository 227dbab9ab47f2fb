import Docker from 'dockerode';
import { ReprodError } from '../../core/errors.js';
import { errorMessage, hasErrno } from '../../core/errno.js';

/**
 * The connection to the Docker engine and the shape of its errors. The
 * engine is found as Docker's CLI finds it (`DOCKER_HOST`, else the default
 * socket); reprod talks to the host's engine and starts sibling containers.
 */

export function connectEngine(opts?: Docker.DockerOptions): Docker {
  return new Docker(opts);
}

/** The HTTP status of an engine error (404 no such object, 409 conflict, 304 not modified), if any. */
export function engineStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') return err.statusCode;
  return undefined;
}

/** The engine's own message (`No such image: x`), else the error's. */
export function engineMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'json' in err) {
    const json: unknown = err.json;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
    if (typeof json === 'string' && json.trim() !== '') return json.trim();
    if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  }
  return errorMessage(err);
}

export function isConnectionError(err: unknown): boolean {
  return hasErrno(err, 'ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE');
}

/** Wraps an engine failure as a RUNTIME error that says what reprod was doing. */
export function engineError(err: unknown, doing: string): ReprodError {
  if (err instanceof ReprodError) return err;
  if (isConnectionError(err)) return new ReprodError('ENGINE_UNAVAILABLE', `cannot reach the Docker engine while ${doing}: ${engineMessage(err)}`, { cause: err });
  return new ReprodError('RUNTIME', `${doing}: ${engineMessage(err)}`, { cause: err });
}

/** Fails with a RUNTIME error unless the engine answers. */
export async function assertEngineReachable(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw engineError(err, 'pinging it');
  }
}
