import { isJsonObject, type JsonObject } from './chart-files.js';

/**
 * Dotted value paths: which ones templates read, which ones values.yaml defines, and whether the schema
 * describes them. A template reading a path values.yaml lacks renders an empty value without any error,
 * so these cross-checks are the only guard against a renamed or misspelt value.
 */

const VALUES_REFERENCE = /\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;

/** `.Values.a.b` / `$.Values.a.b` paths in template text, as `a.b`, sorted and unique. */
export function valuesPathsInTemplate(text: string): string[] {
  const paths = new Set<string>();
  for (const match of text.matchAll(VALUES_REFERENCE)) paths.add((match[1] ?? '').slice(1));
  return [...paths].sort();
}

/** Whether values.yaml has a key at every step of the path (a null or empty value still counts). */
export function hasValuePath(values: JsonObject, dottedPath: string): boolean {
  let node: unknown = values;
  for (const key of dottedPath.split('.')) {
    if (!isJsonObject(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

/** Paths of every leaf of values.yaml; empty mappings and lists are leaves, lists are not entered. */
export function leafValuePaths(values: JsonObject, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const here = prefix === '' ? key : `${prefix}.${key}`;
    return isJsonObject(value) && Object.keys(value).length > 0 ? leafValuePaths(value, here) : [here];
  });
}

/**
 * The schema node describing a value path. A free-form object (no `properties`) describes everything
 * below it, as Kubernetes pass-through values (resources, affinity, annotations) are.
 */
export function schemaNodeFor(schema: JsonObject, dottedPath: string): JsonObject | undefined {
  let node: JsonObject = schema;
  for (const key of dottedPath.split('.')) {
    const properties = node['properties'];
    if (!isJsonObject(properties)) return node['type'] === 'object' ? node : undefined;
    const next = properties[key];
    if (!isJsonObject(next)) return undefined;
    node = next;
  }
  return node;
}

/** True when some prefix of the path (the path itself included) is read by a template. */
export function isReadThroughPrefix(dottedPath: string, readPaths: ReadonlySet<string>): boolean {
  const keys = dottedPath.split('.');
  return keys.some((_, index) => readPaths.has(keys.slice(0, index + 1).join('.')));
}
