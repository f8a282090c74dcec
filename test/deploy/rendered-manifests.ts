import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, isJsonObject, type JsonObject } from './chart-files.js';
import { runHelm, type HelmBinary, type HelmResult } from './helm-binary.js';

/** Renders the chart with a real helm and reads the manifests back as plain objects. */
const RELEASE = 'ais';
const NAMESPACE = 'image-service';
export const FULLNAME = `${RELEASE}-assisted-image-service`;

let renderCount = 0;

/** `helm template` with the given values (written as a values file in `workDir`) and extra arguments. */
export async function helmTemplate(
  helm: HelmBinary,
  workDir: string,
  values: JsonObject,
  extraArgs: readonly string[] = [],
): Promise<HelmResult> {
  renderCount += 1;
  const valuesFile = path.join(workDir, `values-${renderCount}.json`);
  await writeFile(valuesFile, JSON.stringify(values));
  return runHelm(helm, ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '-f', valuesFile, ...extraArgs]);
}

/** The rendered objects; throws with helm's message when rendering fails. */
export async function renderChart(
  helm: HelmBinary,
  workDir: string,
  values: JsonObject,
  extraArgs: readonly string[] = [],
): Promise<JsonObject[]> {
  const result = await helmTemplate(helm, workDir, values, extraArgs);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message ?? ''}`);
      return doc.toJS() as unknown;
    })
    .filter(isJsonObject);
}

/** The value at a path of mapping keys and list indexes, or undefined. */
export function dig(value: unknown, ...keys: (string | number)[]): unknown {
  let node = value;
  for (const key of keys) {
    if (typeof key === 'number') node = Array.isArray(node) ? (node[key] as unknown) : undefined;
    else node = isJsonObject(node) ? node[key] : undefined;
  }
  return node;
}

export function digObject(value: unknown, ...keys: (string | number)[]): JsonObject {
  const found = dig(value, ...keys);
  if (!isJsonObject(found)) throw new Error(`no mapping at ${keys.join('.')}`);
  return found;
}

/** The list at a path as mappings; a missing list is empty. */
export function digList(value: unknown, ...keys: (string | number)[]): JsonObject[] {
  const found = dig(value, ...keys);
  if (found === undefined || found === null) return [];
  if (!Array.isArray(found)) throw new Error(`no list at ${keys.join('.')}`);
  return found.filter(isJsonObject);
}

export function kindsOf(objects: readonly JsonObject[]): string[] {
  return objects.map((o) => String(o['kind'])).sort();
}

export function findObject(objects: readonly JsonObject[], kind: string, name?: string): JsonObject {
  const found = objects.find((o) => o['kind'] === kind && (name === undefined || dig(o, 'metadata', 'name') === name));
  if (found === undefined)
    throw new Error(
      `no ${kind}${name === undefined ? '' : ` ${name}`} rendered (kinds: ${kindsOf(objects).join(', ')})`,
    );
  return found;
}

export function workloadOf(objects: readonly JsonObject[]): JsonObject {
  const workloads = objects.filter((o) => o['kind'] === 'Deployment' || o['kind'] === 'StatefulSet');
  if (workloads.length !== 1) throw new Error(`expected one workload, got ${workloads.length}`);
  return workloads[0] as JsonObject;
}

export function containerOf(workload: JsonObject): JsonObject {
  return digObject(workload, 'spec', 'template', 'spec', 'containers', 0);
}

/** Container env by variable name. */
export function envOf(container: JsonObject): Map<string, JsonObject> {
  return new Map(digList(container, 'env').map((entry) => [String(entry['name']), entry]));
}

export function envValue(container: JsonObject, name: string): string | undefined {
  const value = envOf(container).get(name)?.['value'];
  return typeof value === 'string' ? value : undefined;
}

/** The pod volume mounted at the directory holding `file`, and the file's name inside it. */
export function volumeForFile(workload: JsonObject, file: string): { volume: JsonObject; fileName: string } {
  const mount = digList(containerOf(workload), 'volumeMounts').find((m) => m['mountPath'] === path.posix.dirname(file));
  if (mount === undefined) throw new Error(`nothing is mounted at ${path.posix.dirname(file)}`);
  const volume = digList(workload, 'spec', 'template', 'spec', 'volumes').find((v) => v['name'] === mount['name']);
  if (volume === undefined) throw new Error(`mount ${String(mount['name'])} has no volume`);
  return { volume, fileName: path.posix.basename(file) };
}

/** Whether a label selector (matchLabels and DoesNotExist/Exists/In expressions) selects the labels. */
export function selects(selector: JsonObject, labels: JsonObject): boolean {
  const matchLabels = isJsonObject(selector['matchLabels']) ? selector['matchLabels'] : {};
  if (!Object.entries(matchLabels).every(([key, value]) => labels[key] === value)) return false;
  return digList(selector, 'matchExpressions').every((expression) => {
    const key = String(expression['key']);
    const values = Array.isArray(expression['values']) ? expression['values'] : [];
    switch (expression['operator']) {
      case 'DoesNotExist':
        return !(key in labels);
      case 'Exists':
        return key in labels;
      case 'In':
        return values.includes(labels[key]);
      case 'NotIn':
        return !values.includes(labels[key]);
      default:
        throw new Error(`unknown selector operator ${String(expression['operator'])}`);
    }
  });
}
