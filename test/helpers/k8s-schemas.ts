import { Job } from 'kubernetes-models/batch/v1/Job';
import { Pod } from 'kubernetes-models/v1/Pod';

/**
 * Validates objects against the Kubernetes API's published OpenAPI schemas,
 * as kubernetes-models compiles them (apiVersion, kind, every field's type and
 * required fields, formats such as names and quantities). Throws with the
 * first violations.
 */
export function validateK8s(obj: unknown): void {
  const o = obj as { kind?: string };
  const model = o.kind === 'Job' ? new Job(obj as ConstructorParameters<typeof Job>[0]) : o.kind === 'Pod' ? new Pod(obj as ConstructorParameters<typeof Pod>[0]) : undefined;
  if (!model) throw new Error(`no schema for kind ${String(o.kind)}`);
  model.validate();
}
