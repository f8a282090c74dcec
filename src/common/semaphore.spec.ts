import { describe, expect, it } from '@jest/globals';
import { Semaphore, SemaphoreAbortedError, SemaphoreQueueFullError, SemaphoreWaitTimeoutError } from './semaphore.js';

describe('Semaphore', () => {
  it('grants up to the limit and queues the rest in order', async () => {
    const semaphore = new Semaphore(2);
    const first = await semaphore.acquire();
    const second = await semaphore.acquire();
    const order: string[] = [];
    const third = semaphore.acquire().then((release) => (order.push('third'), release));
    const fourth = semaphore.acquire().then((release) => (order.push('fourth'), release));
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.waiting).toBe(2);
    first();
    first(); // a second call must not free another slot
    const thirdRelease = await third;
    expect(semaphore.inUse).toBe(2);
    second();
    const fourthRelease = await fourth;
    expect(order).toEqual(['third', 'fourth']);
    thirdRelease();
    fourthRelease();
    expect(semaphore.inUse).toBe(0);
  });

  it('drops a waiter whose signal fires, so it never takes a slot', async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const abandoned = semaphore.acquire(controller.signal);
    const next = semaphore.acquire();
    controller.abort();
    await expect(abandoned).rejects.toBeInstanceOf(SemaphoreAbortedError);
    expect(semaphore.waiting).toBe(1);
    held();
    const release = await next;
    expect(semaphore.inUse).toBe(1);
    release();
  });

  it('treats a limit of 0 as unlimited and refuses an already aborted signal', async () => {
    const semaphore = new Semaphore(0);
    const releases = await Promise.all(Array.from({ length: 50 }, () => semaphore.acquire()));
    expect(semaphore.inUse).toBe(50);
    releases.forEach((release) => release());
    await expect(semaphore.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(SemaphoreAbortedError);
  });

  it('run releases the slot when the task throws', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(semaphore.inUse).toBe(0);
  });

  it('refuses a waiter at once when the queue is full, and takes one again when a place frees', async () => {
    const semaphore = new Semaphore(1, { maxWaiting: 1 });
    const held = await semaphore.acquire();
    const queued = semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(SemaphoreQueueFullError);
    expect(semaphore.waiting).toBe(1);
    held();
    const release = await queued;
    const next = semaphore.acquire();
    expect(semaphore.waiting).toBe(1);
    release();
    (await next)();
    expect(semaphore.inUse).toBe(0);
  });

  it('with maxWaiting 0, refuses anyone who would have to wait', async () => {
    const semaphore = new Semaphore(1, { maxWaiting: 0 });
    const held = await semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(SemaphoreQueueFullError);
    held();
    (await semaphore.acquire())();
  });

  it('refuses a waiter that waited maxWaitMs, and the slot it never got goes to the next', async () => {
    const semaphore = new Semaphore(1, { maxWaitMs: 20 });
    const held = await semaphore.acquire();
    const expired = semaphore.acquire();
    await expect(expired).rejects.toBeInstanceOf(SemaphoreWaitTimeoutError);
    expect(semaphore.waiting).toBe(0);
    const next = semaphore.acquire();
    held();
    (await next)();
    expect(semaphore.inUse).toBe(0);
  });

  it('tryAcquire takes a free slot without a promise and never jumps the queue', async () => {
    const semaphore = new Semaphore(1);
    const first = semaphore.tryAcquire();
    expect(typeof first).toBe('function');
    expect(semaphore.tryAcquire()).toBeUndefined();
    const queued = semaphore.acquire();
    first?.();
    // The freed slot went to the waiter, so there is none for a newcomer.
    expect(semaphore.tryAcquire()).toBeUndefined();
    (await queued)();
    expect(semaphore.inUse).toBe(0);
  });
});
