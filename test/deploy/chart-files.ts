import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The Helm chart under test and the files the tests read from it. */
export const CHART_DIR = fileURLToPath(new URL('../../deploy/helm/assisted-image-service/', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));

export type JsonObject = { [key: string]: unknown };

export interface TemplateFile {
  readonly name: string;
  readonly text: string;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function readYamlObject(file: string): Promise<JsonObject> {
  const parsed: unknown = parse(await readFile(file, 'utf8'));
  if (!isJsonObject(parsed)) throw new Error(`${file} does not hold a YAML mapping`);
  return parsed;
}

export async function readJsonObject(file: string): Promise<JsonObject> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!isJsonObject(parsed)) throw new Error(`${file} does not hold a JSON object`);
  return parsed;
}

export function loadValues(): Promise<JsonObject> {
  return readYamlObject(path.join(CHART_DIR, 'values.yaml'));
}

export function loadValuesSchema(): Promise<JsonObject> {
  return readJsonObject(path.join(CHART_DIR, 'values.schema.json'));
}

/** Every file of `templates/`, helpers and NOTES included. */
export async function loadTemplates(): Promise<TemplateFile[]> {
  const dir = path.join(CHART_DIR, 'templates');
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(path.join(dir, name), 'utf8') })));
}

/** A deep copy with one value replaced (or deleted with `undefined`), for schema and render variations. */
export function withValue(values: JsonObject, dottedPath: string, value: unknown): JsonObject {
  const copy = structuredClone(values);
  const keys = dottedPath.split('.');
  let node: JsonObject = copy;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isJsonObject(next)) throw new Error(`${dottedPath}: ${key} is not a mapping`);
    node = next;
  }
  const last = keys[keys.length - 1] ?? '';
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}
