import type { Stage } from '../core/types.js';
import type { CredentialKind } from '../pipeline/manifests.js';
import type { ResolvedRuntime } from '../pipeline/stage-runtime.js';
import type { ReconcilerHooks } from '../reconcile/reconciler.js';

/**
 * Credentials reach a stage only when its manifest asks for them
 * (`spec.credentials`); what else the stage's environment says about
 * tracking (the server's URI, the run and experiment ids) carries no secret:
 *
 *   mlflow   MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN
 *   aws      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *
 * from reprod's environment (and, for mlflow, the login tracking found in
 * MLFLOW_TRACKING_URI). A URI is never passed on with a login in it.
 */

export const CREDENTIAL_VARIABLES: Readonly<Record<CredentialKind, readonly string[]>> = {
  mlflow: ['MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_TOKEN'],
  aws: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
};

/** The credential kinds a stage's manifest asks for. */
export function askedCredentials(resolve: (stage: Stage) => ResolvedRuntime, stage: Stage): readonly CredentialKind[] {
  return resolve(stage).manifest?.credentials ?? [];
}

/** `scheme://user:pass@host/…` without `user:pass@`; anything else as it is. */
export function withoutLogin(uri: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*@)(.*)$/s.exec(uri);
  return m ? `${m[1]}${m[3]}` : uri;
}

/** A stage's tracking environment: the credentials dropped unless `asked` has `mlflow`, the URI without a login. */
export function stageTrackingEnv(env: Readonly<Record<string, string>>, asked: readonly CredentialKind[]): Record<string, string> {
  const out: Record<string, string> = { ...env };
  if (!asked.includes('mlflow')) for (const k of CREDENTIAL_VARIABLES.mlflow) delete out[k];
  const uri = out['MLFLOW_TRACKING_URI'];
  if (uri !== undefined) out['MLFLOW_TRACKING_URI'] = withoutLogin(uri);
  return out;
}

/** The variables of the kinds asked for that are set (not empty) in `env`. */
export function credentialsFrom(env: Readonly<Record<string, string | undefined>>, asked: readonly CredentialKind[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of asked) {
    for (const k of CREDENTIAL_VARIABLES[kind]) {
      const v = env[k];
      if (v !== undefined && v !== '') out[k] = v;
    }
  }
  return out;
}

/** The hook that gives each starting stage the credentials its manifest asks for, from reprod's environment. */
export function credentialHooks(resolve: (stage: Stage) => ResolvedRuntime, env: Readonly<Record<string, string | undefined>>): ReconcilerHooks {
  return { stageStarting: async (stage) => credentialsFrom(env, askedCredentials(resolve, stage)) };
}
