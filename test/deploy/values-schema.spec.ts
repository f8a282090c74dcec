import { Ajv, type ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { isJsonObject, loadValues, loadValuesSchema, withValue, type JsonObject } from './chart-files.js';
import { leafValuePaths, schemaNodeFor } from './values-paths.js';

/** values.schema.json against values.yaml, checked with an independent JSON Schema validator (ajv, draft-07). */
describe('values.schema.json', () => {
  let values: JsonObject;
  let schema: JsonObject;
  let validate: ValidateFunction;

  beforeAll(async () => {
    values = await loadValues();
    schema = await loadValuesSchema();
    validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  });

  const errorsOf = (candidate: JsonObject): string[] =>
    validate(candidate) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);

  it('is a draft-07 schema', () => {
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts the default values.yaml', () => {
    expect(errorsOf(values)).toEqual([]);
  });

  it('describes every value of values.yaml', () => {
    const undescribed = leafValuePaths(values).filter((p) => schemaNodeFor(schema, p) === undefined);
    expect(undescribed).toEqual([]);
  });

  it('gives every described property a description and a type', () => {
    const lacking: string[] = [];
    const visit = (node: JsonObject, where: string): void => {
      const properties = node['properties'];
      if (!isJsonObject(properties)) return;
      for (const [key, child] of Object.entries(properties)) {
        if (!isJsonObject(child)) continue;
        const typed = 'type' in child || 'oneOf' in child || 'anyOf' in child;
        if (typeof child['description'] !== 'string' || !typed) lacking.push(`${where}${key}`);
        visit(child, `${where}${key}.`);
      }
    };
    visit(schema, '');
    expect(lacking).toEqual([]);
  });

  it.each([
    ['config.logLevel', 'verbose'],
    ['config.listenPort', 0],
    ['config.listenPort', 70000],
    ['config.httpListenPort', -1],
    ['config.maxConcurrentRequests', -1],
    ['config.customizationCacheTtlSeconds', 86401],
    ['config.assistedServiceUrl', 'assisted:8090'],
    ['config.insecureSkipVerify', 'yes'],
    ['image.pullPolicy', 'Sometimes'],
    ['terminationGracePeriodSeconds', 10],
    ['startupProbe.failureThreshold', 0],
    ['livenessProbe.path', '/healthz'],
    ['tmpVolume.medium', 'Disk'],
    ['persistence.accessModes', ['ReadWriteSometimes']],
    ['service.type', 'ExternalName'],
    ['podSecurityContext.runAsUser', 0],
    ['catalog.osImages', [{ openshift_version: '4.14', cpu_architecture: 'x86_64', version: '414.1' }]],
    [
      'catalog.osImages',
      [{ openshift_version: '4.14', cpu_architecture: 'sparc', version: '414.1', url: 'https://m/x.iso' }],
    ],
    ['catalog.rhcosVersions', { '4.6': { rootfs_url: 'https://m/r.img' } }],
    ['osImagesRequest.headers', { Authorization: 42 }],
    ['unknownTopLevel', true],
  ])('rejects %s = %j', (valuePath, bad) => {
    expect(errorsOf(withValue(values, valuePath, bad))).not.toEqual([]);
  });

  it.each([
    [
      'catalog.osImages',
      [
        {
          openshift_version: '4.14',
          cpu_architecture: 'x86_64',
          version: '414.92.1',
          url: 'https://m/x.iso',
          type: 'disconnected-iso',
          sha256: 'a'.repeat(64),
        },
      ],
    ],
    ['catalog.rhcosVersions', { '4.6': { iso_url: 'https://m/x.iso', rootfs_url: 'https://m/r.img' } }],
    ['catalog.osImagesJson', '[{"openshift_version":"4.14"}]'],
    ['podSecurityContext.runAsUser', undefined],
    ['podSecurityContext.fsGroup', undefined],
    ['podDisruptionBudget.maxUnavailable', '50%'],
    ['config.allowedDomains', ['https://console.example.com']],
    ['persistence.retentionPolicy', { whenDeleted: 'Delete', whenScaled: 'Retain' }],
    ['global', { imageRegistry: 'x' }],
  ])('accepts %s = %j', (valuePath, good) => {
    expect(errorsOf(withValue(values, valuePath, good))).toEqual([]);
  });
});
