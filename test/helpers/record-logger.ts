import type { Logger } from '../../src/core/ports.js';

/** A Logger keeping each info/warn/error record (its bindings, fields and message) in `records`; debug is dropped. */
export function recordLogger(): Logger & { records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const make = (b: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void records.push({ level, ...b, ...obj, msg });
    return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (x) => make({ ...b, ...x }) };
  };
  return Object.assign(make({}), { records });
}
