import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isJsonObject, type JsonObject } from './chart-files.js';
import { containerOf, dig, digList, workloadOf } from './rendered-manifests.js';

/**
 * Lays out on disk what the kubelet would give the rendered pod, under one root directory: every volume
 * mount as a directory (ConfigMap and Secret items written as files), and the container's environment with
 * container paths moved under the root and secretKeyRefs resolved. The built service can then run with
 * exactly the settings the chart produces.
 */
export interface ClusterObjects {
  /** ConfigMaps and Secrets the chart refers to but does not create, by name: key → content. */
  readonly configMaps?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export async function materializePod(
  objects: readonly JsonObject[],
  root: string,
  cluster: ClusterObjects = {},
): Promise<Record<string, string>> {
  const workload = workloadOf(objects);
  const container = containerOf(workload);
  const volumes = digList(workload, 'spec', 'template', 'spec', 'volumes');
  const mounts = digList(container, 'volumeMounts');
  for (const mount of mounts) {
    const dir = path.join(root, String(mount['mountPath']));
    await mkdir(dir, { recursive: true });
    const volume = volumes.find((v) => v['name'] === mount['name']);
    if (volume === undefined && mount['name'] !== 'data')
      throw new Error(`mount ${String(mount['name'])} has no volume`);
    if (volume !== undefined) await writeVolumeFiles(objects, volume, dir, cluster);
  }
  const mountPaths = mounts.map((m) => String(m['mountPath']));
  const remap = (value: string): string =>
    mountPaths.some((mp) => value === mp || value.startsWith(`${mp}/`)) ? path.join(root, value) : value;
  const env: Record<string, string> = {};
  for (const entry of digList(container, 'env')) {
    const value = resolveEnvValue(objects, entry, cluster);
    if (value !== undefined) env[String(entry['name'])] = remap(value);
  }
  return env;
}

async function writeVolumeFiles(
  objects: readonly JsonObject[],
  volume: JsonObject,
  dir: string,
  cluster: ClusterObjects,
): Promise<void> {
  const source = isJsonObject(volume['configMap'])
    ? { kind: 'ConfigMap', spec: volume['configMap'], name: volume['configMap']['name'] }
    : isJsonObject(volume['secret'])
      ? { kind: 'Secret', spec: volume['secret'], name: volume['secret']['secretName'] }
      : undefined;
  if (source === undefined) return;
  const data = objectData(objects, source.kind, String(source.name), cluster);
  const items = digList(source.spec, 'items');
  const files =
    items.length > 0
      ? items.map((i) => [String(i['key']), String(i['path'])] as const)
      : Object.keys(data).map((k) => [k, k] as const);
  for (const [key, file] of files) {
    const content = data[key];
    if (content === undefined) throw new Error(`${source.kind} ${String(source.name)} has no key ${key}`);
    await writeFile(path.join(dir, file), content);
  }
}

/** A rendered ConfigMap's data or Secret's stringData, else the cluster's object of that name. */
function objectData(
  objects: readonly JsonObject[],
  kind: string,
  name: string,
  cluster: ClusterObjects,
): Readonly<Record<string, string>> {
  const rendered = objects.find((o) => o['kind'] === kind && dig(o, 'metadata', 'name') === name);
  if (rendered !== undefined) {
    const data = dig(rendered, kind === 'Secret' ? 'stringData' : 'data');
    return isJsonObject(data) ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])) : {};
  }
  const external = (kind === 'Secret' ? cluster.secrets : cluster.configMaps)?.[name];
  if (external === undefined)
    throw new Error(`the pod needs ${kind} ${name}, which neither the chart nor the test provides`);
  return external;
}

function resolveEnvValue(
  objects: readonly JsonObject[],
  entry: JsonObject,
  cluster: ClusterObjects,
): string | undefined {
  if (typeof entry['value'] === 'string') return entry['value'];
  const ref = dig(entry, 'valueFrom', 'secretKeyRef') ?? dig(entry, 'valueFrom', 'configMapKeyRef');
  if (!isJsonObject(ref)) throw new Error(`env ${String(entry['name'])} has neither a value nor a key reference`);
  const kind = dig(entry, 'valueFrom', 'secretKeyRef') === undefined ? 'ConfigMap' : 'Secret';
  const value = objectData(objects, kind, String(ref['name']), cluster)[String(ref['key'])];
  if (value === undefined && ref['optional'] !== true)
    throw new Error(`env ${String(entry['name'])}: ${kind} key ${String(ref['key'])} is missing`);
  return value;
}
