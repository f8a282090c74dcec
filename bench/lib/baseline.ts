// The static baseline: nginx (sendfile on) serving one file on 127.0.0.1 as a non-daemon child with all its
// state in a temp dir, or, when nginx is not installed, a minimal Node static server.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probe } from './http-load.js';
import { killOnExit, sleep } from './lifetime.js';
import { freePort } from './net.js';
import { childPids, processName, type PidSource } from './proc.js';

export interface StaticServer {
  readonly label: string;
  readonly url: URL;
  /** Master and workers (nginx) or the one process (Node). */
  readonly pids: PidSource;
  stop(): Promise<void>;
}

export class BaselineStartError extends Error {
  override name = 'BaselineStartError';
}

const NGINX = '/usr/sbin/nginx';
const SERVED_PATH = '/base.iso';

export async function startBaseline(file: string, workDir: string, preferNode: boolean): Promise<StaticServer> {
  if (!preferNode && (await nginxInstalled())) return startNginx(file, path.join(workDir, 'nginx'));
  return startNodeStatic(file);
}

async function nginxInstalled(): Promise<boolean> {
  return access(NGINX, constants.X_OK).then(
    () => true,
    () => false,
  );
}

function nginxConfig(dir: string, file: string, port: number): string {
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
    listen 127.0.0.1:${port};
    location = ${SERVED_PATH} { alias ${file}; default_type application/octet-stream; }
  }
}
`;
}

async function startNginx(file: string, dir: string): Promise<StaticServer> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  await writeFile(path.join(dir, 'nginx.conf'), nginxConfig(dir, path.resolve(file), port));
  const child = spawn(NGINX, ['-p', dir, '-c', 'nginx.conf', '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  const master = child.pid ?? 0;
  const url = new URL(`http://127.0.0.1:${port}${SERVED_PATH}`);
  await waitServing(child, url, `nginx (log ${dir}/error.log)`);
  // Workers are listed once: scanning /proc on every 100 ms sample would cost the client real CPU.
  const processes = [master, ...(await childPids(master))];
  // A SIGKILLed master leaves its workers running: on a hard exit kill every one of them.
  process.once('exit', () => killNginx(processes));
  return {
    label: 'nginx (sendfile)',
    url,
    pids: async () => processes,
    stop: () => stopNginx(child, master),
  };
}

async function startNodeStatic(file: string): Promise<StaticServer> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./node-static-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  const pid = child.pid ?? 0;
  const url = new URL(`http://127.0.0.1:${port}${SERVED_PATH}`);
  await waitServing(child, url, 'node static server');
  return { label: 'node static (nginx absent)', url, pids: async () => [pid], stop: () => stopChild(child, 'SIGTERM') };
}

async function waitServing(child: ChildProcess, url: URL, what: string): Promise<void> {
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null)
      throw new BaselineStartError(`${what} exited with ${child.exitCode}: ${stderr.join('')}`);
    const answer = await probe(url, {}, 1000).catch(() => undefined);
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
