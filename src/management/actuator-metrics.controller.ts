import { Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { register, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { ManagementAdminGuard } from './management-access';

/**
 * Spring's `/actuator/metrics` view over the Prometheus registry: the list of names, and one metric's
 * measurements with its tags. Dotted names work too (`process.resident.memory.bytes`), so the guide's
 * `curl .../actuator/metrics/<name>` calls keep their shape with our metric names. Labels reveal servers, tools
 * and routes: `mcp:admin` only (Prometheus scrapes /actuator/prometheus, which stays open).
 */
@Controller('metrics')
@UseGuards(ManagementAdminGuard)
export class ActuatorMetricsController {
  @Get()
  async names() {
    const metrics = await register.getMetricsAsJSON();
    return { names: metrics.map((m) => m.name).sort() };
  }

  @Get(':name')
  async one(@Param('name') requested: string, @Query('tag') tag?: string | string[]) {
    const name = requested.replace(/\./g, '_');
    const metrics: MetricObjectWithValues<MetricValue<string>>[] = await register.getMetricsAsJSON();
    const metric = metrics.find((m) => m.name === name);
    if (!metric) throw new NotFoundException(`No metric named '${requested}'`);
    const filters = (Array.isArray(tag) ? tag : tag ? [tag] : []).map((t) => t.split(':', 2) as [string, string]);
    const values = metric.values.filter((v) => filters.every(([k, want]) => String(v.labels[k] ?? '') === want));
    const tags = new Map<string, Set<string>>();
    for (const v of metric.values) {
      for (const [k, val] of Object.entries(v.labels))
        if (val !== undefined) (tags.get(k) ?? tags.set(k, new Set()).get(k)!).add(String(val));
    }
    return {
      name: metric.name,
      description: metric.help,
      type: String(metric.type),
      measurements: summarize(String(metric.type), values),
      available_tags: [...tags].map(([t, set]) => ({ tag: t, values: [...set].sort() })),
    };
  }
}

function summarize(type: string, values: MetricValue<string>[]) {
  const sumOf = (suffix: string) =>
    values
      .filter((v) => (v as { metricName?: string }).metricName?.endsWith(suffix))
      .reduce((acc, v) => acc + v.value, 0);
  if (type === 'histogram' || type === 'summary') {
    return [
      { statistic: 'COUNT', value: sumOf('_count') },
      { statistic: 'TOTAL', value: sumOf('_sum') },
    ];
  }
  return [{ statistic: 'VALUE', value: values.reduce((acc, v) => acc + v.value, 0) }];
}
