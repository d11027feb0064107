/**
 * @module engine/restore/verify
 * `restore --verify`: reads restored files back and checks each blob-sized piece against the
 * blob IDs in the snapshot (SHA-256), and the total length.
 */
import { toHex } from '../../bytes.js';
import type { TreeNode } from '../../format/types.js';
import { plaintextSize, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import type { RelPath, RestoreSink } from './sink.js';

export interface RestoredFile {
  readonly path: string;
  readonly rawPath: RelPath;
  readonly node: TreeNode;
}

export async function verifyRestored(
  repo: Repository,
  index: MasterIndex,
  files: readonly RestoredFile[],
  sink: RestoreSink,
): Promise<{ checked: number; mismatches: { path: string; message: string }[] }> {
  const mismatches: { path: string; message: string }[] = [];
  if (!sink.readFile) throw new Error('this restore target cannot be read back for verification');
  let checked = 0;
  for (const f of files) {
    const sizes = (f.node.content ?? []).map((id) => {
      const loc = index.lookup('data', id);
      return loc ? plaintextSize(loc) : -1;
    });
    let blobIdx = 0;
    let need = sizes[0] ?? 0;
    let pieces: Uint8Array[] = [];
    let have = 0;
    let total = 0;
    let bad: string | undefined;
    const check = () => {
      const buf = new Uint8Array(have);
      let o = 0;
      for (const p of pieces) {
        buf.set(p, o);
        o += p.length;
      }
      if (toHex(repo.platform.crypto.sha256(buf)) !== f.node.content![blobIdx]) bad ??= `content differs in blob ${blobIdx} (at byte ${total - have})`;
      pieces = [];
      have = 0;
      blobIdx++;
      need = sizes[blobIdx] ?? 0;
    };
    for await (let chunk of sink.readFile(f.rawPath)) {
      total += chunk.length;
      while (chunk.length > 0 && !bad) {
        if (blobIdx >= sizes.length) {
          bad = 'file is longer than in the snapshot';
          break;
        }
        const take = Math.min(need - have, chunk.length);
        pieces.push(chunk.subarray(0, take));
        have += take;
        chunk = chunk.subarray(take);
        if (have === need) check();
      }
      if (bad) break;
    }
    if (!bad && blobIdx < sizes.length) bad = `file is shorter than in the snapshot (${total} bytes)`;
    if (bad) mismatches.push({ path: f.path, message: bad });
    checked++;
  }
  return { checked, mismatches };
}
