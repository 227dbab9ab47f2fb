import { promises as fs } from 'node:fs';
import path from 'node:path';

/** `key<TAB>size` of every file under `root` (a remote's folder as the server stores it), sorted; temporary files left out. */
export async function folderLayout(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith('.tmp')) out.push(`${path.relative(root, p)}\t${(await fs.stat(p)).size}`);
    }
  };
  await walk(root);
  return out.sort();
}
