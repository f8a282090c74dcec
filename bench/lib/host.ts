import { availableParallelism, loadavg } from 'node:os';

/** Other work on the machine skews every figure: say how busy it was. */
export function hostLoad(): string {
  const [one, five] = loadavg();
  return `${availableParallelism()} CPUs, load average ${one?.toFixed(2)} (1 min) ${five?.toFixed(2)} (5 min)`;
}
