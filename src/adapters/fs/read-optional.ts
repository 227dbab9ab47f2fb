import { promises as fs } from 'node:fs';
import { isMissing } from '../../core/errno.js';

/** A file's text, or undefined when it does not exist; any other error throws (a corrupt file is not a missing one). */
export async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}
