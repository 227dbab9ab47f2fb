import { promises as fs } from 'node:fs';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapLimit, type Slots } from '../../remote/pool.js';
import type { TransferOptions } from '../../core/ports.js';
import type { UploadJournal } from './upload-journal.js';

/** Objects larger than this go in parts of at least this size (S3 allows 10,000 parts). */
export const PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts of one upload in flight at once: the SDK's Upload's default queue size. */
const PART_JOBS = 4;

export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  /** The full key (with the remote's prefix). */
  key: string;
  extras: Pick<PutObjectCommandInput, 'ACL' | 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  /** Parts in memory at once, shared by every upload of the remote. */
  slots: Slots;
  journal?: UploadJournal;
}

/**
 * Parts go up PART_JOBS at a time, as the SDK's own Upload sends them
 * (its default queue of 4). Each is read into memory first, so that it can
 * be resent; the parts in memory are bounded by the remote's part slots,
 * shared by every upload of a push, so that `-j N` big files at once hold
 * at most PART_JOBS parts, not N times as many. The first part that fails
 * stops the others (no new part starts; those in flight are aborted) and
 * the upload is aborted. The journal names the upload from its start until
 * it is completed or aborted, so that one left by a kill (or by a server
 * that went away before the abort) is aborted by the next push.
 */
export async function putMultipart(t: MultipartTarget, file: string, size: number, opts: TransferOptions): Promise<void> {
  const { client, bucket: Bucket, key: Key } = t;
  const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS));
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const send = { abortSignal: stop.signal };
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ...t.extras }), send);
  const UploadId = created.UploadId;
  if (UploadId === undefined) throw new Error('the server started no multipart upload');
  const handle = await fs.open(file, 'r');
  try {
    await t.journal?.started({ key: Key, uploadId: UploadId });
    const numbers = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i + 1);
    const parts = await mapLimit(numbers, PART_JOBS, async (n): Promise<CompletedPart> => {
      const offset = (n - 1) * partSize;
      const length = Math.min(partSize, size - offset);
      const res = await t.slots
        .use(async () => {
          if (stop.signal.aborted) throw stop.signal.reason;
          const buf = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buf, 0, length, offset);
          if (bytesRead !== length) throw new Error(`${file} changed while it was being uploaded`);
          return client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: n, Body: buf, ContentLength: length }), send);
        })
        .catch((e: unknown) => {
          stop.abort(e);
          throw e;
        });
      opts.onBytes?.(length);
      return { PartNumber: n, ...(res.ETag !== undefined ? { ETag: res.ETag } : {}) };
    });
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), send);
    await t.journal?.ended(UploadId);
  } catch (e) {
    // an aborted upload is invisible; one the server cannot be told about stays in the journal for the next push
    const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).then(
      () => true,
      () => false,
    );
    if (aborted) await t.journal?.ended(UploadId).catch(() => undefined);
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await handle.close();
  }
}

/**
 * Aborts the multipart uploads that earlier runs in this workspace started
 * on this remote and left unfinished (see UploadJournal): the server's
 * list of uploads under the remote's objects (ListMultipartUploads), those
 * the journals name and that were initiated before `since` (this run's
 * start). Journals are dropped once nothing they name is left. Returns the
 * uploads aborted.
 */
export async function abortLeftoverUploads(t: { client: S3Client; bucket: string; prefix: string; journal: UploadJournal; since: number; signal?: AbortSignal }): Promise<number> {
  const { files, uploads } = await t.journal.leftovers();
  if (files.length === 0) return 0;
  const send = t.signal ? { abortSignal: t.signal } : {};
  let aborted = 0;
  let left = 0;
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  do {
    const res = await t.client.send(
      new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: t.prefix, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: idMarker } : {}) }),
      send,
    );
    for (const u of res.Uploads ?? []) {
      if (u.UploadId === undefined || u.Key === undefined || uploads.get(u.UploadId) !== u.Key) continue;
      if (u.Initiated !== undefined && u.Initiated.getTime() >= t.since) {
        // not older than this run (a clock ahead of ours?): kept, and its journal with it
        left++;
        continue;
      }
      try {
        await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: u.Key, UploadId: u.UploadId }), send);
        aborted++;
      } catch {
        left++;
      }
    }
    keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
    idMarker = res.NextUploadIdMarker;
  } while (keyMarker !== undefined);
  if (left === 0) await t.journal.forget(files);
  return aborted;
}
