import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { allowedSeriesNames, OPS, requireTool, run, seriesNamesIn } from './ops-tools';

/** ops/prometheus and ops/grafana: promtool on the config, the rules and their unit tests; metric names. */

const PROM = path.join(OPS, 'prometheus');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

const rules = (): Rule[] =>
  (
    parse(readFileSync(path.join(PROM, 'globalmcp_rules.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }
  ).groups.flatMap((g) => g.rules);

describe('Prometheus (promtool)', () => {
  it('promtool check config accepts prometheus.yml (and the rule file it names)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    if (!promtool) return;
    const r = run(promtool, ['check', 'config', 'prometheus.yml'], { cwd: PROM });
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('promtool check config accepts prometheus-kubernetes.yml (its relabelling, at least)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    if (!promtool) return;
    let r = run(promtool, ['check', 'config', 'prometheus-kubernetes.yml'], { cwd: PROM });
    if (r.status !== 0 && /kubernetes_sd_configs not found/.test(r.output)) {
      // Debian builds promtool without Kubernetes discovery: check everything else with a static target instead.
      console.log(
        'NOTE: this promtool has no kubernetes_sd_configs; checking the job with static_configs in its place',
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-prom-'));
      try {
        const doc = parse(readFileSync(path.join(PROM, 'prometheus-kubernetes.yml'), 'utf8')) as {
          scrape_configs: Record<string, unknown>[];
        };
        for (const job of doc.scrape_configs) {
          if (job.kubernetes_sd_configs) {
            delete job.kubernetes_sd_configs;
            job.static_configs = [{ targets: ['127.0.0.1:9090'] }];
          }
        }
        writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(doc));
        copyFileSync(path.join(PROM, 'globalmcp_rules.yml'), path.join(dir, 'globalmcp_rules.yml'));
        r = run(promtool, ['check', 'config', 'prometheus.yml'], { cwd: dir });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('promtool check rules accepts globalmcp_rules.yml', () => {
    const promtool = requireTool('promtool', 'prometheus');
    if (!promtool) return;
    const r = run(promtool, ['check', 'rules', 'globalmcp_rules.yml'], { cwd: PROM });
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('the alerts fire on the series they are meant for (promtool test rules)', () => {
    const promtool = requireTool('promtool', 'prometheus');
    if (!promtool) return;
    const r = run(promtool, ['test', 'rules', 'globalmcp_rules.test.yml'], { cwd: PROM });
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it("has the guide's four alerts and the MCP alerts, and every alert has a unit test", () => {
    const names = rules().map((r) => r.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'GlobalMcpInstanceDown',
        'HighErrorRate',
        'HighResponseTime',
        'DatabaseConnectionsHigh',
        'McpServerDown',
        'McpUpstreamErrorRateHigh',
        'McpServerRestarting',
        'McpPoolQueueBacklog',
      ]),
    );
    const tests = readFileSync(path.join(PROM, 'globalmcp_rules.test.yml'), 'utf8');
    for (const name of names) expect(tests).toContain(`alertname: ${name}`);
  });

  it('finds the series names of an expression (and so would catch an unknown one)', () => {
    expect(
      seriesNamesIn('histogram_quantile(0.9, sum by (le) (rate(foo_bucket{a="x_y"}[5m]))) / on (i) bar > 2'),
    ).toEqual(['foo_bucket', 'bar']);
  });

  it('the rules read only metrics the gateway exports', async () => {
    const allowed = await allowedSeriesNames();
    const used = rules().flatMap((r) => seriesNamesIn(r.expr).map((name) => `${r.alert}: ${name}`));
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((u) => !allowed.has(u.split(': ')[1]!))).toEqual([]);
    expect(JSON.stringify(rules())).not.toMatch(/hikaricp|jvm_/);
  });

  it('scrapes /actuator/prometheus on the metrics port', () => {
    const doc = parse(readFileSync(path.join(PROM, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[];
    };
    const job = doc.scrape_configs.find((j) => j.job_name === 'globalmcp')!;
    expect(job.metrics_path).toBe('/actuator/prometheus');
    for (const target of job.static_configs!.flatMap((s) => s.targets)) expect(target).toMatch(/:9090$/);
  });
});

describe('Grafana dashboard', () => {
  interface Target {
    expr: string;
  }
  interface Panel {
    title: string;
    type: string;
    targets?: Target[];
  }
  const dashboard = () =>
    JSON.parse(readFileSync(path.join(OPS, 'grafana', 'globalmcp-overview.json'), 'utf8')) as {
      title: string;
      uid: string;
      panels: Panel[];
    };

  it("is valid JSON with the guide's three panels and the MCP panels", () => {
    const d = dashboard();
    expect(d.title).toBe('Global MCP Client - Overview');
    const titles = d.panels.map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['Request Rate', 'Error Rate', 'Response Time']));
    const exprs = d.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    for (const metric of [
      'mcp_server_status',
      'mcp_client_requests_total',
      'mcp_client_request_duration_seconds_bucket',
      'mcp_pool_queue_depth',
      'mcp_server_restarts_total',
    ]) {
      expect(exprs.some((e) => e.includes(metric))).toBe(true);
    }
    const ids = d.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every panel query reads only metrics the gateway exports', async () => {
    const allowed = await allowedSeriesNames();
    const unknown = dashboard()
      .panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, names: seriesNamesIn(t.expr) })))
      .flatMap(({ panel, names }) => names.filter((n) => !allowed.has(n)).map((n) => `${panel}: ${n}`));
    expect(unknown).toEqual([]);
  });
});
