import { Inject, type Provider } from '@nestjs/common';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/**
 * Metrics as Nest providers on one registry per application (not prom-client's process-wide one), so two apps in one
 * process (tests) never share or collide on a metric. A metric is injected by name with `@InjectMetric(name)`.
 */
export const registryProvider: Provider = {
  provide: Registry,
  useFactory: (): Registry => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};

const metricToken = (name: string): string => `prometheus-metric:${name}`;

export const InjectMetric = (name: string): PropertyDecorator & ParameterDecorator => Inject(metricToken(name));

function metricProvider(make: (registry: Registry) => unknown, name: string): Provider {
  return { provide: metricToken(name), inject: [Registry], useFactory: make };
}

export function counterProvider<T extends string>(config: Omit<CounterConfiguration<T>, 'registers'>): Provider {
  return metricProvider((registry) => new Counter({ ...config, registers: [registry] }), config.name);
}

export function gaugeProvider<T extends string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Provider {
  return metricProvider((registry) => new Gauge({ ...config, registers: [registry] }), config.name);
}

export function histogramProvider<T extends string>(config: Omit<HistogramConfiguration<T>, 'registers'>): Provider {
  return metricProvider((registry) => new Histogram({ ...config, registers: [registry] }), config.name);
}
