import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { HttpService } from '@nestjs/axios';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import type { AxiosRequestConfig, AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AssistedServiceConfig } from '../config/app-config.js';
import { JsonLogger } from '../logging/json-logger.js';
import { InvalidKernelArgumentsError, parseKernelArguments } from '../iso/kargs-arguments.js';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { ASSISTED_REQUEST_DURATION, ASSISTED_REQUESTS } from '../metrics/metric-names.js';
import { ASSISTED_CLIENT_OPTIONS, type AssistedClientOptions } from './assisted-client.options.js';
import { scrubSecrets, statusError, transportError } from './assisted-failure.js';
import {
  AssistedInvalidResponseError,
  AssistedNotConfiguredError,
  AssistedRequestAbortedError,
  AssistedServiceError,
} from './assisted.errors.js';
import { buildRequest, IGNITION_CALL, INFRA_ENV_CALL, MINIMAL_INITRD_CALL, type BuiltRequest, type UpstreamCall } from './assisted-request.js';
import type { Credential } from './credentials.js';

export type ImageType = 'full-iso' | 'minimal-iso' | 'disconnected-iso';

export interface IgnitionResult {
  readonly ignition: Buffer;
  readonly lastModified?: Date;
}

interface CallResult {
  readonly status: number;
  readonly headers: AxiosResponse['headers'];
  readonly body: Buffer;
}

/** Free keep-alive sockets are closed after this idle time, before servers (Node's default is 5 s) close them under us. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * The assisted-service API v2 calls of reference §8. Returns typed values or throws the domain errors of
 * `assisted.errors.ts`; a call abandoned through the caller's signal rejects with an `AbortError`.
 */
@Injectable()
export class AssistedClient implements OnModuleDestroy {
  private readonly logger = new Logger(AssistedClient.name);
  private readonly httpAgent = new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS, scheduling: 'lifo' });
  private readonly httpsAgent: https.Agent;

  constructor(
    @Inject(HttpService) private readonly http: HttpService,
    @Inject(AssistedServiceConfig) private readonly config: AssistedServiceConfig,
    @Inject(ASSISTED_CLIENT_OPTIONS) private readonly options: AssistedClientOptions,
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

  /** `isoType` is undefined for the PXE initrd, which sends no `discovery_iso_type`. */
  async fetchIgnition(infraEnvId: string, credential: Credential, isoType: ImageType | undefined, signal?: AbortSignal): Promise<IgnitionResult> {
    const call = IGNITION_CALL(isoType);
    const result = await this.call(infraEnvId, call, credential, signal);
    if (result.status !== 200 || result.body.length === 0) {
      const what = result.status !== 200 ? `${result.status} instead of 200` : 'with an empty body';
      throw new AssistedInvalidResponseError(`assisted-service answered the request for ${call.what} ${what}`);
    }
    const lastModified = parseHttpDate(result.headers['last-modified']);
    return { ignition: result.body, ...(lastModified && { lastModified }) };
  }

  /** The ramdisk with the infra-env's static network config; undefined when there is none (204 or an empty body). */
  async fetchMinimalInitrd(infraEnvId: string, credential: Credential, signal?: AbortSignal): Promise<Buffer | undefined> {
    const result = await this.call(infraEnvId, MINIMAL_INITRD_CALL, credential, signal);
    return result.status === 204 || result.body.length === 0 ? undefined : result.body;
  }

  /**
   * The infra-env's extra kernel arguments. An infra-env whose `kernel_arguments` cannot be parsed or may not be
   * written into the boot menus is an invalid upstream response (502), with the parser's reason in the message.
   */
  async fetchKernelArguments(infraEnvId: string, credential: Credential, signal?: AbortSignal): Promise<string[]> {
    const result = await this.call(infraEnvId, INFRA_ENV_CALL, credential, signal);
    const kernelArguments = kernelArgumentsField(result.body, infraEnvId);
    if (kernelArguments === undefined) return [];
    try {
      return parseKernelArguments(kernelArguments);
    } catch (error) {
      if (!(error instanceof InvalidKernelArgumentsError)) throw error;
      const detail = scrubSecrets(error.message, credential);
      throw new AssistedInvalidResponseError(`assisted-service returned invalid kernel arguments for infra-env ${infraEnvId}: ${detail}`);
    }
  }

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async call(infraEnvId: string, call: UpstreamCall, credential: Credential, signal: AbortSignal | undefined): Promise<CallResult> {
    const baseUrl = this.config.baseUrl;
    if (baseUrl === undefined) throw new AssistedNotConfiguredError();
    const request = buildRequest(baseUrl, infraEnvId, call, credential);
    if (signal?.aborted) throw new AssistedRequestAbortedError(signal.reason);
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    try {
      const response = await firstValueFrom(this.http.request<ArrayBuffer>(this.axiosConfig(request, combined)));
      const result = toResult(response);
      this.logCall(call, request, started, { status: result.status });
      if (result.status < 200 || result.status > 299) throw statusError(call, result.status, result.body, credential);
      return result;
    } catch (error) {
      if (error instanceof AssistedServiceError) throw error;
      if (signal?.aborted) {
        this.logCall(call, request, started, { aborted: true });
        throw new AssistedRequestAbortedError(signal.reason);
      }
      const failure = transportError(call, { error, timedOut: deadline.signal.aborted, ...this.options }, credential);
      this.logCall(call, request, started, { error: failure.message });
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  private axiosConfig(request: BuiltRequest, signal: AbortSignal): AxiosRequestConfig {
    return {
      method: 'GET',
      url: request.url,
      headers: request.headers,
      responseType: 'arraybuffer',
      // Every status is a response to map, not an exception to unwrap.
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: this.options.maxResponseBytes,
      // Calls go straight to assisted-service: an environment proxy would see the api_key in the query.
      proxy: false,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      signal,
    };
  }

  private logCall(call: UpstreamCall, request: BuiltRequest, started: number, outcome: { status?: number; aborted?: boolean; error?: string }): void {
    const seconds = (performance.now() - started) / 1000;
    const code = outcome.status !== undefined ? String(outcome.status) : outcome.aborted ? 'aborted' : 'error';
    this.requests.inc({ call: call.name, code });
    this.duration.observe({ call: call.name }, seconds);
    const durationMs = Math.round(seconds * 1000);
    const fields = { method: 'GET', path: request.path, status: outcome.status ?? null, durationMs, aborted: outcome.aborted ?? false, error: outcome.error };
    const msg = `GET ${request.path} ${outcome.status ?? (outcome.aborted ? 'aborted' : 'failed')} ${durationMs}ms`;
    if (this.jsonLogger !== undefined) this.jsonLogger.record('debug', AssistedClient.name, msg, fields);
    else this.logger.debug(msg);
  }
}

function toResult(response: AxiosResponse<ArrayBuffer>): CallResult {
  const data: unknown = response.data;
  const body = Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.alloc(0);
  return { status: response.status, headers: response.headers, body };
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
    throw new AssistedInvalidResponseError(`assisted-service returned an infra-env ${infraEnvId} that is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AssistedInvalidResponseError(`assisted-service returned an infra-env ${infraEnvId} that is not a JSON object`);
  }
  const value = (parsed as Record<string, unknown>).kernel_arguments;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AssistedInvalidResponseError(`assisted-service returned an infra-env ${infraEnvId} whose kernel_arguments is not a string`);
  }
  return value;
}
