import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type EndListener = () => void;

/** Each response's tracker, made on first use: every part of the app that holds something for a request shares it. */
const trackers = new WeakMap<ServerResponse, RequestEnd>();

/**
 * The responses on each connection that were queued behind another when they arrived (pipelining), as their settle
 * functions: Node tells such a response nothing when its connection dies, so the connection's own events must.
 */
const queuedByConnection = new WeakMap<Socket, Set<EndListener>>();

/**
 * Knows when a request is over, however it ends: its response finished or closed, or its connection closed or
 * failed. Timeouts and cuts (headers or request timeout, a stalled download, too many pipelined requests) all
 * destroy the connection, so they end here too. Every listener is called exactly once.
 *
 * Only the response at the head of a connection hears the connection close (Node's `ServerResponse` subscribes when
 * it is given the socket). A pipelined response queued behind a client that stopped reading never gets the socket,
 * so without the connection's own `close`/`error` its slot, gauge and log line would be held for good.
 */
export class RequestEnd {
  /** Undefined once the request has ended. */
  private listeners: EndListener[] | undefined = [];

  constructor(private readonly response: ServerResponse) {
    // `on`, not `once`: settle runs once anyway, and `once` would allocate a wrapper per event per request.
    response.on('finish', this.settle);
    response.on('close', this.settle);
    const connection = response.req.socket;
    if (connection.destroyed) process.nextTick(this.settle);
    else if (!response.socket) queueOn(connection, this.settle);
  }

  get ended(): boolean {
    return this.listeners === undefined;
  }

  /** Whether the response may write: it has the connection (it was first, or the ones before it are done). */
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
      // ServerResponse emits 'socket' from assignSocket, when the response before it has finished.
      this.response.once('socket', () => resolve(true));
      this.onEnd(() => resolve(false));
    });
  }

  private readonly settle = (): void => {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    this.listeners = undefined;
    queuedByConnection.get(this.response.req.socket)?.delete(this.settle);
    // Every listener runs even if one throws: a failing log line must not keep a slot taken.
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

/** The tracker of this response's request. */
export function requestEnd(response: ServerResponse): RequestEnd {
  let tracker = trackers.get(response);
  if (tracker === undefined) {
    tracker = new RequestEnd(response);
    trackers.set(response, tracker);
  }
  return tracker;
}

/** How many requests that arrived pipelined behind another are still open on this connection. */
export function pipelinedOn(connection: Socket): number {
  return queuedByConnection.get(connection)?.size ?? 0;
}

function queueOn(connection: Socket, settle: EndListener): void {
  let queued = queuedByConnection.get(connection);
  if (queued === undefined) {
    const created = new Set<EndListener>();
    const endAll = (): void => {
      queuedByConnection.delete(connection);
      for (const end of created) end();
      created.clear();
    };
    // 'error' is always followed by 'close'; listening to both ends the requests at the first sign.
    connection.once('error', endAll);
    connection.once('close', endAll);
    queuedByConnection.set(connection, created);
    queued = created;
  }
  queued.add(settle);
}
