// Loaded into the service with `NODE_OPTIONS=--import=<this file>` by bench/profile.ts (`--cpu-prof` itself is
// not allowed in NODE_OPTIONS). Profiles only a window, so start-up and the cache sync stay out of the figures:
// the first SIGUSR2 starts the V8 sampler, the second stops it and writes a .cpuprofile to $BENCH_CPU_PROFILE.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const target = process.env.BENCH_CPU_PROFILE;
if (target) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US || 500) });
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      writeFileSync(target, error ? '' : JSON.stringify(result.profile));
    });
  });
}
