import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { ServiceError, isLowercaseUuid } from '../common/service-error.js';
import { AssistedServiceConfig } from '../config/app-config.js';
import type { ImageType } from '../config/catalog.js';
import {
  IgnitionSizeMeter,
  IgnitionTooLargeError,
  InvalidKernelArgumentsError,
  RamdiskAreaError,
  buildIgnitionPayload,
  parseKernelArguments,
} from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { ASSISTED_REQUEST_DURATION, ASSISTED_REQUESTS, InjectMetric } from '../metrics/metrics.module.js';
import {
  AssistedInvalidResponseError,
  AssistedNotConfiguredError,
  AssistedRequestAbortedError,
  InvalidCredentialError,
  InvalidInfraEnvIdError,
  scrubSecrets,
  statusError,
  transportError,
} from './assisted.errors.js';
import type { Credential } from './credentials.js';
import { readBody, UpstreamBodyBudget, type BodyReservation } from './upstream-body.js';

/** Tuning outside the environment contract; tests shorten the timeout. A class only to serve as injection token. */
export abstract class AssistedClientOptions {
  /** From connecting to the last body byte. */
  abstract readonly timeoutMs: number;
  abstract readonly maxBodyBytesInFlight: number;
}

/** The path after the infra-env id, and the words for messages. */
const CALLS = {
  ignition: { suffix: '/downloads/files', what: 'the discovery Ignition' },
  'minimal-initrd': { suffix: '/downloads/minimal-initrd', what: 'the minimal initrd' },
  'infra-env': { suffix: '', what: 'the infra-env' },
} as const;
type CallName = keyof typeof CALLS;

/** Free keep-alive sockets close after 4 s, before servers (Node's default is 5 s) close them under us. */
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000, scheduling: 'lifo' } as const;
const MAX_INFRA_ENV_BYTES = 1024 * 1024;
/** Only the `reason` of an error body is used; its start is enough. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Printable ASCII, space and tab: nothing a header cannot carry as it is. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** The calls of docs/assisted-service.md; a call abandoned through the caller's signal rejects with an AbortError. */
@Injectable()
export class AssistedClient implements OnModuleDestroy {
  private readonly httpAgent = new http.Agent(AGENT_OPTIONS);
  private readonly httpsAgent: https.Agent;

  constructor(
    @Inject(AssistedServiceConfig) private readonly config: AssistedServiceConfig,
    @Inject(AssistedClientOptions) private readonly options: AssistedClientOptions,
    @Inject(UpstreamBodyBudget) private readonly budget: UpstreamBodyBudget,
    @InjectMetric(ASSISTED_REQUESTS) private readonly requests: Counter<'call' | 'code'>,
    @InjectMetric(ASSISTED_REQUEST_DURATION) private readonly duration: Histogram<'call'>,
    @Inject(JsonLogger) private readonly logger: JsonLogger,
  ) {
    const ca = config.trustedCaPem === undefined ? undefined : [...rootCertificates, config.trustedCaPem];
    this.httpsAgent = new https.Agent({ ...AGENT_OPTIONS, minVersion: 'TLSv1.2', ...(ca && { ca }) });
  }

  /** The Ignition payload for an Ignition area of `areaBytes`; `isoType` is undefined for the PXE initrd. */
  async fetchIgnition(
    infraEnvId: string,
    credential: Credential,
    isoType: ImageType | undefined,
    areaBytes: number,
    signal?: AbortSignal,
  ): Promise<{ readonly payload: Buffer; readonly lastModified?: Date }> {
    const query = { file_name: 'discovery.ign', ...(isoType !== undefined && { discovery_iso_type: isoType }) };
    return this.call(infraEnvId, 'ignition', query, credential, signal, async (response, reservation) => {
      const answered = `assisted-service answered the request for ${CALLS.ignition.what}`;
      if (response.statusCode !== 200) {
        response.destroy();
        throw new AssistedInvalidResponseError(`${answered} ${response.statusCode} instead of 200`);
      }
      // No byte bound: a compressible Ignition may be far larger than the area. The meter gives up once it cannot fit.
      const tooLarge = (): Error => new IgnitionTooLargeError(undefined, areaBytes);
      const meter = new IgnitionSizeMeter(areaBytes);
      const ignition = await readBody(response, Infinity, reservation, { tooLarge, meter });
      if (ignition.length === 0) throw new AssistedInvalidResponseError(`${answered} with an empty body`);
      const payload = await buildIgnitionPayload(ignition, areaBytes);
      const lastModified = new Date(response.headers['last-modified'] ?? NaN);
      return { payload, ...(!Number.isNaN(lastModified.getTime()) && { lastModified }) };
    });
  }

  /** The static network ramdisk; undefined when there is none (204 or empty). */
  async fetchMinimalInitrd(
    infraEnvId: string,
    credential: Credential,
    areaBytes: number,
    signal?: AbortSignal,
  ): Promise<Buffer | undefined> {
    return this.call(infraEnvId, 'minimal-initrd', {}, credential, signal, async (response, reservation) => {
      const tooLarge = (size: number | undefined): Error => RamdiskAreaError.tooLarge(size, areaBytes);
      const body = await readBody(response, areaBytes, reservation, { tooLarge });
      return response.statusCode === 204 || body.length === 0 ? undefined : body;
    });
  }

  async fetchKernelArguments(infraEnvId: string, credential: Credential, signal?: AbortSignal): Promise<string[]> {
    const body = await this.call(infraEnvId, 'infra-env', {}, credential, signal, (response, reservation) => {
      const tooLarge = (): Error =>
        new AssistedInvalidResponseError(
          `assisted-service's response for ${CALLS['infra-env'].what} is larger than the ${MAX_INFRA_ENV_BYTES}-byte limit; refusing it`,
        );
      return readBody(response, MAX_INFRA_ENV_BYTES, reservation, { tooLarge });
    });
    return kernelArgumentsOf(body, infraEnvId, credential);
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async call<T>(
    infraEnvId: string,
    name: CallName,
    query: Readonly<Record<string, string>>,
    credential: Credential,
    signal: AbortSignal | undefined,
    readSuccess: (response: IncomingMessage, reservation: BodyReservation) => Promise<T>,
  ): Promise<T> {
    const { what } = CALLS[name];
    const url = this.urlOf(infraEnvId, name, query, credential);
    const headers = headersOf(credential);
    if (signal?.aborted) throw new AssistedRequestAbortedError(signal.reason);
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    const reservation = this.budget.open(what);
    let outcome: number | 'aborted' | undefined;
    let failure: Error | undefined;
    try {
      const response = await this.send(url, headers, combined);
      outcome = response.statusCode ?? 0;
      if (outcome < 200 || outcome > 299)
        throw statusError(what, outcome, await readBody(response, MAX_ERROR_BODY_BYTES, reservation), credential);
      return await readSuccess(response, reservation);
    } catch (error) {
      if (isAnswer(error)) throw (failure = error);
      // Whatever the status was, the call did not complete.
      outcome = signal?.aborted ? 'aborted' : undefined;
      if (signal?.aborted) throw new AssistedRequestAbortedError(signal.reason);
      const { timeoutMs } = this.options;
      throw (failure = transportError(what, { error, timedOut: deadline.signal.aborted, timeoutMs }, credential));
    } finally {
      clearTimeout(timer);
      reservation.release();
      this.record(name, url.pathname, started, outcome, failure?.message);
    }
  }

  /** The credential goes where assisted-service expects it: `api_key` in the query, tokens in headers. */
  private urlOf(infraEnvId: string, name: CallName, query: Record<string, string>, credential: Credential): URL {
    const baseUrl = this.config.baseUrl;
    if (baseUrl === undefined) throw new AssistedNotConfiguredError();
    if (!isLowercaseUuid(infraEnvId)) throw new InvalidInfraEnvIdError();
    const url = new URL(`${baseUrl}/api/assisted-install/v2/infra-envs/${infraEnvId}${CALLS[name].suffix}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    if (credential.kind === 'api-key') url.searchParams.set('api_key', credential.value);
    return url;
  }

  /** Resolves with the response headers. No redirect is followed and no proxy used: an api_key goes nowhere else. */
  private send(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const options = { headers, agent: secure ? this.httpsAgent : this.httpAgent, signal };
      // Kept for the request's whole life: an error after the response is the body's to report, not an uncaught one.
      (secure ? https.get(url, options, resolve) : http.get(url, options, resolve)).on('error', reject);
    });
  }

  /** Metrics, and a debug line with the path only: the query may hold `api_key`. */
  private record(name: CallName, path: string, started: number, outcome?: number | 'aborted', error?: string): void {
    const seconds = (performance.now() - started) / 1000;
    this.requests.inc({ call: name, code: outcome === undefined ? 'error' : String(outcome) });
    this.duration.observe({ call: name }, seconds);
    const durationMs = Math.round(seconds * 1000);
    const status = typeof outcome === 'number' ? outcome : null;
    const fields = { method: 'GET', path, status, durationMs, aborted: outcome === 'aborted', error };
    this.logger.record('debug', AssistedClient.name, `GET ${path} ${outcome ?? 'failed'} ${durationMs}ms`, fields);
  }
}

/** An image token or Authorization value travels in the header of the same name, unchanged or not at all. */
function headersOf(credential: Credential): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json, application/octet-stream, */*' };
  if (credential.kind === 'image-token' || credential.kind === 'authorization') {
    if (!HEADER_VALUE.test(credential.value))
      throw new InvalidCredentialError(credential.kind === 'image-token' ? 'image token' : 'Authorization header');
    headers[credential.kind] = credential.value;
  }
  return headers;
}

/** A status, content that cannot fit, no room in the budget: the call's answer, not a transport failure. */
function isAnswer(error: unknown): error is Error {
  return error instanceof ServiceError || error instanceof IgnitionTooLargeError || error instanceof RamdiskAreaError;
}

/** The infra-env's `kernel_arguments` (none when absent or null); anything malformed is a 502. */
function kernelArgumentsOf(body: Buffer, infraEnvId: string, credential: Credential): string[] {
  const invalid = (what: string): Error =>
    new AssistedInvalidResponseError(`assisted-service returned an infra-env ${infraEnvId} ${what}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('that is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('that is not a JSON object');
  const value = (parsed as Record<string, unknown>).kernel_arguments;
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') throw invalid('whose kernel_arguments is not a string');
  try {
    return parseKernelArguments(value);
  } catch (error) {
    if (!(error instanceof InvalidKernelArgumentsError)) throw error;
    throw new AssistedInvalidResponseError(
      `assisted-service returned invalid kernel arguments for infra-env ${infraEnvId}: ${scrubSecrets(error.message, credential)}`,
    );
  }
}
