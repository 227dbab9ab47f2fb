import { promises as fs } from 'node:fs';

/** A file's text, or undefined when it does not exist; any other error throws (a corrupt file is not a missing one). */
export async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
