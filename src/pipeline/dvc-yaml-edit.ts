import { isMap, isScalar, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { ReprodError } from '../core/errors.js';

/**
 * Edits of dvc.yaml as `dvc freeze`, `dvc unfreeze` and `dvc remove` make
 * them, done on the text: only the lines of the stage touched change, so
 * comments, quoting, anchors and the layout of everything else stay as the
 * user wrote them. (A flow-style `stages:` or stage falls back to yaml's
 * printer, which keeps comments but may re-lay the file out.)
 *
 * DVC refuses to write a stage whose definition is templated (foreach,
 * matrix, or any `${}`), since the file holds the template, not the stage:
 * so does reprod, with DVC's words.
 */

/** What an edit did: the new text, or `undefined` when no stage is left (DVC then deletes the file). */
export type EditResult = { text: string } | { text: undefined };

interface Located {
  doc: Document.Parsed;
  stages: YAMLMap;
  pair: Pair<Node, Node>;
}

function locate(text: string, file: string, name: string): Located {
  const doc = parseDocument(text, { version: '1.2', uniqueKeys: false });
  if (doc.errors.length > 0) throw new ReprodError('YAML_SYNTAX', `invalid YAML: ${doc.errors[0]?.message ?? ''}`, { source: { file } });
  const stages = isMap(doc.contents) ? doc.contents.get('stages', true) : undefined;
  if (!isMap(stages)) throw new ReprodError('STAGE_NOT_FOUND', `stage '${name}' does not exist in ${file}`, { source: { file } });
  const pair = (stages.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && String(p.key.value) === name);
  if (!pair) throw new ReprodError('STAGE_NOT_FOUND', `stage '${name}' does not exist in ${file}`, { source: { file } });
  return { doc, stages, pair };
}

/** True when the stage's definition is a template: foreach/matrix, or a `${}` anywhere in it. */
function isTemplated(node: Node): boolean {
  if (isMap(node) && (node.has('foreach') || node.has('matrix'))) return true;
  let found = false;
  const visit = (n: unknown): void => {
    if (found) return;
    if (isScalar(n)) {
      if (typeof n.value === 'string' && n.value.includes('${')) found = true;
    } else if (n !== null && typeof n === 'object' && 'items' in n && Array.isArray(n.items)) {
      for (const item of n.items as unknown[]) {
        if (item !== null && typeof item === 'object' && 'key' in item && 'value' in item) {
          visit(item.key);
          visit(item.value);
        } else visit(item);
      }
    }
  };
  visit(node);
  return found;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset just past the line that holds `offset - 1` (the end of a node's content). */
function pastLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end;
  const nl = text.indexOf('\n', end);
  return nl === -1 ? text.length : nl + 1;
}

/** The text of one `key: value` pair of a block mapping, whole lines, with its trailing newline. */
function pairLines(text: string, pair: Pair<Node, Node>): [number, number] | undefined {
  const keyAt = pair.key.range?.[0];
  const end = pair.value?.range?.[1] ?? pair.key.range?.[1];
  if (keyAt === undefined || end === undefined) return undefined;
  return [lineStart(text, keyAt), pastLine(text, end)];
}

function check(name: string, node: Node): void {
  if (isTemplated(node)) throw new ReprodError('USAGE', `cannot dump a parametrized stage: '${name}'`, { remedy: 'Edit dvc.yaml by hand: the stage is written there as a template.' });
}

/** Sets (`frozen: true`) or clears (no `frozen` key) a stage's frozen flag, as `dvc freeze` / `dvc unfreeze`. */
export function setFrozen(text: string, file: string, name: string, frozen: boolean): string {
  const { doc, pair } = locate(text, file, name);
  const stage = pair.value;
  if (!isMap(stage)) throw new ReprodError('SCHEMA', `stages.${name} is not a mapping`, { source: { file, key: `stages.${name}` } });
  check(name, stage);
  const current = (stage.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'frozen');
  if (!stage.flow) {
    if (current) {
      if (!frozen) {
        const span = pairLines(text, current);
        if (span) return text.slice(0, span[0]) + text.slice(span[1]);
      } else if (isScalar(current.value) && current.value.range) {
        const [a, b] = current.value.range;
        return text.slice(0, a) + 'true' + text.slice(b);
      }
    } else if (frozen) {
      const first = stage.items[0] as Pair<Node, Node> | undefined;
      const keyAt = first?.key.range?.[0];
      const end = stage.range?.[1];
      if (keyAt !== undefined && end !== undefined) {
        const indent = text.slice(lineStart(text, keyAt), keyAt);
        const at = pastLine(text, end);
        const before = at === text.length && !text.endsWith('\n') ? `${text}\n` : text.slice(0, at);
        return `${before}${indent}frozen: true\n${text.slice(at)}`;
      }
    } else {
      return text;
    }
  }
  if (frozen) stage.set('frozen', true);
  else stage.delete('frozen');
  return doc.toString({ lineWidth: 0 });
}

/**
 * Removes a stage (or a whole foreach/matrix group, by the group's name) from
 * dvc.yaml, as `dvc remove` does. No stage left: the file goes.
 */
export function removeStage(text: string, file: string, name: string): EditResult {
  const { doc, stages, pair } = locate(text, file, name);
  if (stages.items.length === 1) return { text: undefined };
  if (!stages.flow) {
    const span = pairLines(text, pair);
    if (span) return { text: text.slice(0, span[0]) + text.slice(span[1]) };
  }
  stages.delete(name);
  return { text: doc.toString({ lineWidth: 0 }) };
}
