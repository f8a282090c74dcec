import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { GcNudge } from '../common/gc-nudge.js';
import type { BlockWriter } from './download-writer.js';

/** A download that did not produce the expected bytes; the message is the reason shown in the image state. */
export class ImageFetchError extends Error {
  override name = 'ImageFetchError';
}

/** The download was stopped through its signal (the service is shutting down). */
export class TransferAbortedError extends Error {
  override name = 'AbortError';
}

/** An opened source: where its body starts, its full length when known, and how to copy the body into a writer. */
export interface OpenedSource {
  /** 0, or the size of the partial file the body continues (an HTTP 206 answer to a resume). */
  readonly offset: number;
  readonly total: number | undefined;
  /** A strong ETag or a Last-Modified date that a later resume may send as If-Range. */
  readonly validator: string | undefined;
  copyTo(writer: BlockWriter, signal: AbortSignal): Promise<void>;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new TransferAbortedError('the download was stopped');
}

/** Bytes between two young-generation collections while an HTTP body streams in. */
const GC_EVERY_BYTES = 2 * 1024 * 1024;

/** The body, chunk by chunk into the writer; the request's signal and idle timeout also end it by destroying the response. */
export async function copyResponse(response: IncomingMessage, writer: BlockWriter, signal: AbortSignal): Promise<void> {
  const nudge = new GcNudge(GC_EVERY_BYTES);
  try {
    for await (const chunk of response) {
      throwIfAborted(signal);
      await writer.append(chunk as Buffer);
      nudge.add((chunk as Buffer).length);
    }
  } finally {
    // Leaving the loop early (an error) destroys the response; this covers an error thrown by the writer too.
    response.destroy();
  }
}

export async function openFileSource(url: URL): Promise<OpenedSource> {
  const path = fileURLToPath(url);
  try {
    const { size } = await stat(path);
    return { offset: 0, total: size, validator: undefined, copyTo: (writer, signal) => copyFile(path, writer, signal) };
  } catch (error) {
    throw new ImageFetchError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads the file straight into the writer's blocks: no buffer per chunk. */
async function copyFile(path: string, writer: BlockWriter, signal: AbortSignal): Promise<void> {
  const source = await open(path, 'r');
  try {
    for (let position = 0; ;) {
      throwIfAborted(signal);
      const space = writer.space();
      const { bytesRead } = await source.read(space, 0, space.length, position);
      if (bytesRead === 0) return;
      await writer.commit(bytesRead);
      position += bytesRead;
    }
  } finally {
    await source.close();
  }
}
