import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type EndListener = () => void;

const TRACKER = Symbol('RequestEnd');
/** Per connection, the settle functions of the responses that arrived pipelined behind another one. */
const queuedByConnection = new WeakMap<Socket, Set<EndListener>>();

/**
 * Knows when a request is over: its response finished or closed, or its connection closed or failed. Every listener
 * runs once. Node tells only the head of a connection that it closed, so queued pipelined responses are ended here.
 */
export class RequestEnd {
  /** Undefined once the request has ended. */
  private listeners: EndListener[] | undefined = [];

  constructor(private readonly response: ServerResponse) {
    // `on`, not `once`: settle runs once anyway, and `once` allocates a wrapper per event per request.
    response.on('finish', this.settle);
    response.on('close', this.settle);
    const connection = response.req.socket;
    if (connection.destroyed) process.nextTick(this.settle);
    else if (!response.socket) queueOn(connection, this.settle);
  }

  get ended(): boolean {
    return this.listeners === undefined;
  }

  /** Whether the response may write: it was first on its connection, or the ones before it are done. */
  get atHeadOfLine(): boolean {
    return Boolean(this.response.socket);
  }

  /** Calls `listener` when the request ends, or at once when it already has. */
  onEnd(listener: EndListener): void {
    if (this.listeners === undefined) listener();
    else this.listeners.push(listener);
  }

  /** Resolves true when the response reaches the head of its connection, false when the request ends first. */
  untilHeadOfLine(): Promise<boolean> {
    if (this.atHeadOfLine || this.ended) return Promise.resolve(!this.ended);
    return new Promise((resolve) => {
      this.response.once('socket', () => resolve(true));
      this.onEnd(() => resolve(false));
    });
  }

  private readonly settle = (): void => {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    this.listeners = undefined;
    queuedByConnection.get(this.response.req.socket)?.delete(this.settle);
    let failure: unknown;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  };
}

/** The one tracker of this response, shared by everything that holds something for the request. */
export function requestEnd(response: ServerResponse): RequestEnd {
  return ((response as ServerResponse & { [TRACKER]?: RequestEnd })[TRACKER] ??= new RequestEnd(response));
}

/** How many requests that arrived pipelined behind another are still open on this connection. */
export function pipelinedOn(connection: Socket): number {
  return queuedByConnection.get(connection)?.size ?? 0;
}

function queueOn(connection: Socket, settle: EndListener): void {
  const queued = queuedByConnection.get(connection);
  if (queued !== undefined) return void queued.add(settle);
  const created = new Set([settle]);
  const endAll = (): void => {
    queuedByConnection.delete(connection);
    created.forEach((end) => end());
    created.clear();
  };
  // 'error' is always followed by 'close': listening to both ends the requests at the first sign.
  connection.once('error', endAll);
  connection.once('close', endAll);
  queuedByConnection.set(connection, created);
}
