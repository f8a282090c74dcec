// The static baseline: nginx (sendfile on) serving one file on 127.0.0.1 as a non-daemon child with all its
// state in a temp dir, or, when nginx is not installed, a minimal Node static server. Either speaks plain HTTP
// or, given the bench's certificate, HTTPS.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probe, type TrustedCa } from './http-load.js';
import { killOnExit, sleep } from './lifetime.js';
import { freePort } from './net.js';
import { childPids, processName, type PidSource } from './proc.js';
import type { BenchTls } from './tls.js';

export interface StaticServer {
  readonly label: string;
  readonly url: URL;
  /** Master and workers (nginx) or the one process (Node). */
  readonly pids: PidSource;
  /** Set when the server speaks HTTPS: the CA its certificate is verified against. */
  readonly ca?: TrustedCa;
  stop(): Promise<void>;
}

class BaselineStartError extends Error {
  override name = 'BaselineStartError';
}

const NGINX = '/usr/sbin/nginx';
const SERVED_PATH = '/base.iso';

/** Plain HTTP, or HTTPS with `tls`. */
export async function startBaseline(
  file: string,
  workDir: string,
  preferNode: boolean,
  tls?: BenchTls,
): Promise<StaticServer> {
  if (!preferNode && (await nginxInstalled()))
    return startNginx(file, path.join(workDir, tls === undefined ? 'nginx' : 'nginx-https'), tls);
  return startNodeStatic(file, tls);
}

async function nginxInstalled(): Promise<boolean> {
  return access(NGINX, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * A modern HTTPS server as Mozilla's "intermediate" profile has it: TLS 1.2 and 1.3, ECDHE with AEAD ciphers for 1.2
 * (1.3 uses OpenSSL's defaults), the client's cipher preference, a shared session cache, no session tickets. No kTLS
 * (`ssl_conf_command Options KTLS`): without it nginx cannot sendfile over TLS, so `sendfile on` applies to plain
 * connections only and TLS ones are read into buffers and encrypted in user space, as in the service.
 */
function tlsDirectives(tls: BenchTls): string {
  return `    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;
`;
}

function nginxConfig(dir: string, file: string, port: number, tls: BenchTls | undefined): string {
  // Running as root, workers would switch to 'nobody' and might not read the file.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  return `${user}worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port}${tls === undefined ? '' : ' ssl'};
${tls === undefined ? '' : tlsDirectives(tls)}    location = ${SERVED_PATH} { alias ${file}; default_type application/octet-stream; }
  }
}
`;
}

async function startNginx(file: string, dir: string, tls: BenchTls | undefined): Promise<StaticServer> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  await writeFile(path.join(dir, 'nginx.conf'), nginxConfig(dir, path.resolve(file), port, tls));
  const child = spawn(NGINX, ['-p', dir, '-c', 'nginx.conf', '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  const master = child.pid ?? 0;
  const url = new URL(`${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${SERVED_PATH}`);
  await waitServing(child, url, `nginx (log ${dir}/error.log)`, tls?.caPem);
  // Workers are listed once: scanning /proc on every 100 ms sample would cost the client real CPU.
  const processes = [master, ...(await childPids(master))];
  // A SIGKILLed master leaves its workers running: on a hard exit kill every one of them.
  process.once('exit', () => killNginx(processes));
  return {
    label: tls === undefined ? 'nginx (sendfile)' : 'nginx (HTTPS)',
    url,
    pids: async () => processes,
    ca: tls?.caPem,
    stop: () => stopNginx(child, master),
  };
}

async function startNodeStatic(file: string, tls: BenchTls | undefined): Promise<StaticServer> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./node-static-server.ts', import.meta.url));
  const tlsArgs = tls === undefined ? [] : [tls.certFile, tls.keyFile];
  const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(port), ...tlsArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  const pid = child.pid ?? 0;
  const url = new URL(`${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${SERVED_PATH}`);
  await waitServing(child, url, 'node static server', tls?.caPem);
  return {
    label: tls === undefined ? 'node static (nginx absent)' : 'node static HTTPS (nginx absent)',
    url,
    pids: async () => [pid],
    ca: tls?.caPem,
    stop: () => stopChild(child, 'SIGTERM'),
  };
}

async function waitServing(child: ChildProcess, url: URL, what: string, ca: TrustedCa): Promise<void> {
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null)
      throw new BaselineStartError(`${what} exited with ${child.exitCode}: ${stderr.join('')}`);
    const answer = await probe(url, {}, 1000, ca).catch(() => undefined);
    if (answer?.status === 200) return;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new BaselineStartError(`${what} did not serve ${url.href} within 10 s: ${stderr.join('')}`);
}

/** Fast shutdown (TERM); workers a killed master left behind are killed too. */
async function stopNginx(child: ChildProcess, master: number): Promise<void> {
  const workers = await childPids(master);
  await stopChild(child, 'SIGTERM');
  killNginx(workers);
}

/** Only pids that still are nginx: a pid may have been reused since. */
function killNginx(pids: readonly number[]): void {
  for (const pid of pids) if (processName(pid) === 'nginx') process.kill(pid, 'SIGKILL');
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
