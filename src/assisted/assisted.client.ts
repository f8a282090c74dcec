import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '../metrics/prometheus.js';
import type { Counter, Histogram } from 'prom-client';
import { ServiceError } from '../common/service-error.js';
import { AssistedServiceConfig } from '../config/app-config.js';
import { RamdiskAreaError } from '../iso/index.js';
import { IgnitionTooLargeError } from '../iso/index.js';
import { buildIgnitionPayload, IgnitionSizeMeter } from '../iso/index.js';
import { InvalidKernelArgumentsError, parseKernelArguments } from '../iso/index.js';
import { JsonLogger } from '../logging/json-logger.js';
import { ASSISTED_REQUEST_DURATION, ASSISTED_REQUESTS } from '../metrics/metric-names.js';
import { ASSISTED_CLIENT_OPTIONS, type AssistedClientOptions } from './assisted-client.options.js';
import { scrubSecrets, statusError, transportError } from './assisted-failure.js';
import {
  AssistedInvalidResponseError,
  AssistedNotConfiguredError,
  AssistedRequestAbortedError,
  AssistedServiceError,
} from './assisted.errors.js';
import {
  buildRequest,
  IGNITION_CALL,
  INFRA_ENV_CALL,
  MINIMAL_INITRD_CALL,
  type BuiltRequest,
  type UpstreamCall,
} from './assisted-request.js';
import type { Credential } from './credentials.js';
import { readBody, type BodyBound } from './upstream-body.js';
import { UpstreamBodyBudget, type BodyReservation } from './upstream-budget.js';

export type ImageType = 'full-iso' | 'minimal-iso' | 'disconnected-iso';

export interface IgnitionPayloadResult {
  /** The Ignition as it goes into the image (see ignition-payload.ts); the Ignition itself is not kept. */
  readonly payload: Buffer;
  readonly lastModified?: Date;
}

/** Turns a 2xx response into a value; it runs while the body's bytes are still reserved in the budget. */
type ReadSuccess<T> = (response: IncomingMessage, reservation: BodyReservation) => Promise<T>;

/** Free keep-alive sockets are closed after this idle time, before servers (Node's default is 5 s) close them under us. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/** An infra-env is a few KiB of JSON; one far larger is not one to parse. */
const MAX_INFRA_ENV_BYTES = 1024 * 1024;

/** Only the `reason` of an error body is used; its start is enough. */
const ERROR_BODY_BOUND: BodyBound = { maxBytes: 64 * 1024, overflow: 'truncate' };

/**
 * The assisted-service API v2 calls the image service makes. Returns typed values or throws the domain errors of
 * `assisted.errors.ts` (and IgnitionTooLargeError / RamdiskAreaError for content that cannot fit the image); a call
 * abandoned through the caller's signal rejects with an `AbortError`. Every body is read as a stream within a bound
 * of what can possibly be used, and within the budget shared by all calls in flight.
 */
@Injectable()
export class AssistedClient implements OnModuleDestroy {
  private readonly logger = new Logger(AssistedClient.name);
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, scheduling: 'lifo' });
  private readonly httpsAgent: https.Agent;

  constructor(
    @Inject(AssistedServiceConfig) private readonly config: AssistedServiceConfig,
    @Inject(ASSISTED_CLIENT_OPTIONS) private readonly options: AssistedClientOptions,
    @Inject(UpstreamBodyBudget) private readonly budget: UpstreamBodyBudget,
    @InjectMetric(ASSISTED_REQUESTS) private readonly requests: Counter<'call' | 'code'>,
    @InjectMetric(ASSISTED_REQUEST_DURATION) private readonly duration: Histogram<'call'>,
    @Optional() @Inject(JsonLogger) private readonly jsonLogger?: JsonLogger,
  ) {
    const ca = config.trustedCaPem === undefined ? undefined : [...rootCertificates, config.trustedCaPem];
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      timeout: FREE_SOCKET_TIMEOUT_MS,
      scheduling: 'lifo',
      minVersion: 'TLSv1.2',
      ...(ca && { ca }),
    });
  }

  /**
   * The Ignition payload for an image whose Ignition area holds `areaBytes`. The Ignition is compressed as it
   * arrives and given up on (IgnitionTooLargeError, the rest unread) once no payload of it can fit the area; the
   * payload is built on the thread pool. `isoType` is undefined for the PXE initrd, which sends no
   * `discovery_iso_type`.
   */
  async fetchIgnition(
    infraEnvId: string,
    credential: Credential,
    isoType: ImageType | undefined,
    areaBytes: number,
    signal?: AbortSignal,
  ): Promise<IgnitionPayloadResult> {
    const call = IGNITION_CALL(isoType);
    return this.call(infraEnvId, call, credential, signal, async (response, reservation) => {
      if (response.statusCode !== 200) {
        response.destroy();
        throw new AssistedInvalidResponseError(
          `assisted-service answered the request for ${call.what} ${response.statusCode} instead of 200`,
        );
      }
      const tooLarge = (): Error => new IgnitionTooLargeError(undefined, areaBytes);
      const meter = new IgnitionSizeMeter(areaBytes);
      // Unbounded in bytes of its own: a compressible Ignition may be far larger than the area. The meter and the
      // budget bound it.
      const ignition = await readBody(
        response,
        { maxBytes: Number.POSITIVE_INFINITY, overflow: 'refuse', tooLarge, meter },
        reservation,
      );
      if (ignition.length === 0)
        throw new AssistedInvalidResponseError(
          `assisted-service answered the request for ${call.what} with an empty body`,
        );
      const payload = await buildIgnitionPayload(ignition, areaBytes);
      const lastModified = parseHttpDate(response.headers['last-modified']);
      return { payload, ...(lastModified && { lastModified }) };
    });
  }

  /**
   * The ramdisk with the infra-env's static network config; undefined when there is none (204 or an empty body).
   * One larger than `areaBytes` is refused with RamdiskAreaError, unread past the area.
   */
  async fetchMinimalInitrd(
    infraEnvId: string,
    credential: Credential,
    areaBytes: number,
    signal?: AbortSignal,
  ): Promise<Buffer | undefined> {
    return this.call(infraEnvId, MINIMAL_INITRD_CALL, credential, signal, async (response, reservation) => {
      const tooLarge = (size: number | undefined): Error => RamdiskAreaError.tooLarge(size, areaBytes);
      const body = await readBody(response, { maxBytes: areaBytes, overflow: 'refuse', tooLarge }, reservation);
      return response.statusCode === 204 || body.length === 0 ? undefined : body;
    });
  }

  /**
   * The infra-env's extra kernel arguments. An infra-env whose `kernel_arguments` cannot be parsed or may not be
   * written into the boot menus is an invalid upstream response (502), with the parser's reason in the message.
   */
  async fetchKernelArguments(infraEnvId: string, credential: Credential, signal?: AbortSignal): Promise<string[]> {
    const body = await this.call(infraEnvId, INFRA_ENV_CALL, credential, signal, (response, reservation) => {
      const tooLarge = (): Error =>
        new AssistedInvalidResponseError(
          `assisted-service's response for ${INFRA_ENV_CALL.what} is larger than the ${MAX_INFRA_ENV_BYTES}-byte limit; refusing it`,
        );
      return readBody(response, { maxBytes: MAX_INFRA_ENV_BYTES, overflow: 'refuse', tooLarge }, reservation);
    });
    const kernelArguments = kernelArgumentsField(body, infraEnvId);
    if (kernelArguments === undefined) return [];
    try {
      return parseKernelArguments(kernelArguments);
    } catch (error) {
      if (!(error instanceof InvalidKernelArgumentsError)) throw error;
      const detail = scrubSecrets(error.message, credential);
      throw new AssistedInvalidResponseError(
        `assisted-service returned invalid kernel arguments for infra-env ${infraEnvId}: ${detail}`,
      );
    }
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async call<T>(
    infraEnvId: string,
    call: UpstreamCall,
    credential: Credential,
    signal: AbortSignal | undefined,
    readSuccess: ReadSuccess<T>,
  ): Promise<T> {
    const baseUrl = this.config.baseUrl;
    if (baseUrl === undefined) throw new AssistedNotConfiguredError();
    const request = buildRequest(baseUrl, infraEnvId, call, credential);
    if (signal?.aborted) throw new AssistedRequestAbortedError(signal.reason);
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    const reservation = this.budget.open(call.what);
    let status: number | undefined;
    try {
      const response = await this.send(request, combined);
      status = response.statusCode ?? 0;
      if (status < 200 || status > 299)
        throw statusError(call, status, await readBody(response, ERROR_BODY_BOUND, reservation), credential);
      const value = await readSuccess(response, reservation);
      this.logCall(call, request, started, { status });
      return value;
    } catch (error) {
      if (isAnswer(error)) {
        this.logCall(call, request, started, {
          ...(status !== undefined && { status }),
          error: (error as Error).message,
        });
        throw error;
      }
      if (signal?.aborted) {
        this.logCall(call, request, started, { aborted: true });
        throw new AssistedRequestAbortedError(signal.reason);
      }
      const failure = transportError(
        call,
        { error, timedOut: deadline.signal.aborted, timeoutMs: this.options.timeoutMs },
        credential,
      );
      this.logCall(call, request, started, { error: failure.message });
      throw failure;
    } finally {
      clearTimeout(timer);
      reservation.release();
    }
  }

  /**
   * Sends the request and resolves with the response once its headers are in; the body is left to read. Redirects
   * are not followed and no proxy is used: an api_key in the query must reach assisted-service and nothing else.
   * The signal destroys the request, and with it the response, at any point.
   */
  private send(request: BuiltRequest, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const options = {
        method: 'GET',
        headers: request.headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        signal,
      };
      const outgoing = secure ? https.request(url, options, resolve) : http.request(url, options, resolve);
      // Kept for the request's whole life: an error after the response is the body's to report, not an uncaught one.
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  private logCall(
    call: UpstreamCall,
    request: BuiltRequest,
    started: number,
    outcome: { status?: number; aborted?: boolean; error?: string },
  ): void {
    const seconds = (performance.now() - started) / 1000;
    const code = outcome.status !== undefined ? String(outcome.status) : outcome.aborted ? 'aborted' : 'error';
    this.requests.inc({ call: call.name, code });
    this.duration.observe({ call: call.name }, seconds);
    const durationMs = Math.round(seconds * 1000);
    const fields = {
      method: 'GET',
      path: request.path,
      status: outcome.status ?? null,
      durationMs,
      aborted: outcome.aborted ?? false,
      error: outcome.error,
    };
    const msg = `GET ${request.path} ${outcome.status ?? (outcome.aborted ? 'aborted' : 'failed')} ${durationMs}ms`;
    if (this.jsonLogger !== undefined) this.jsonLogger.record('debug', AssistedClient.name, msg, fields);
    else this.logger.debug(msg);
  }
}

/** Errors that are the call's answer (a status, content that cannot fit, no room in the budget), not a transport failure. */
function isAnswer(error: unknown): boolean {
  return (
    error instanceof AssistedServiceError ||
    error instanceof ServiceError ||
    error instanceof IgnitionTooLargeError ||
    error instanceof RamdiskAreaError
  );
}

function parseHttpDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The infra-env's `kernel_arguments` string; undefined when absent or null. */
function kernelArgumentsField(body: Buffer, infraEnvId: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AssistedInvalidResponseError(
      `assisted-service returned an infra-env ${infraEnvId} that is not valid JSON`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AssistedInvalidResponseError(
      `assisted-service returned an infra-env ${infraEnvId} that is not a JSON object`,
    );
  }
  const value = (parsed as Record<string, unknown>).kernel_arguments;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AssistedInvalidResponseError(
      `assisted-service returned an infra-env ${infraEnvId} whose kernel_arguments is not a string`,
    );
  }
  return value;
}
