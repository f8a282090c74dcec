import { readFileSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Read at run time so the document's version follows the package without a build step. */
function packageVersion(): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version =
      typeof manifest === 'object' && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('assisted-image-service')
    .setDescription(
      'Streams Red Hat CoreOS live ISOs customised for one Assisted Installer infra-env (Ignition, static network ' +
        'ramdisk, kernel arguments), PXE initrds and boot artifacts, from a local cache of base images.',
    )
    .setVersion(packageVersion())
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** `/openapi.json` (and `/openapi.yaml`) plus the interactive page at `/docs`. */
export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
