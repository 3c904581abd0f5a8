// Node 20 lacks Promise.withResolvers (native from Node 22); matrix-js-sdk 43 calls it (sync loop,
// interactive auth). This module has no imports so that, imported first, it runs before the SDK's
// modules are evaluated.
const P = Promise as unknown as { withResolvers?: unknown };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};

// The SDK's AbortSignal.timeout ponyfill (http-api/utils timeoutSignal) arms a plain setTimeout
// for every request (110 s for a /sync long-poll) and never clears it, so a test process stays
// alive for up to two minutes after its last test. Unref exactly those timers: they still fire
// while the process is alive, they just no longer hold it open. Recognised by the callback's
// source, so no other timer (the server's included) is touched.
const SDK_TIMEOUT_SIGNAL = /^\(\)\s*=>\s*\{\s*controller\.abort\(\);?\s*\}$/;
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = Object.assign(
  function setTimeoutUnrefSdkAborts(this: unknown, callback: (...args: any[]) => void, ms?: number, ...args: any[]) {
    const timer = originalSetTimeout(callback, ms, ...args);
    if (typeof callback === 'function' && SDK_TIMEOUT_SIGNAL.test(callback.toString())) timer.unref();
    return timer;
  },
  originalSetTimeout,
) as typeof setTimeout;
