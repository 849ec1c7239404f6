import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.loader';
import { APP, DOCKER, OPS } from './ops-tools';

/** ops/k8s and docker/: manifests parse, point at what the app serves, and the configs they ship validate. */

const K8S = path.join(OPS, 'k8s');

type Manifest = Record<string, any>;

const manifests: { file: string; doc: Manifest }[] = readdirSync(K8S)
  .filter((f) => /\.ya?ml$/.test(f))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8')).map((d) => {
      expect(d.errors).toEqual([]);
      return { file, doc: d.toJS() as Manifest };
    }),
  );
const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

/** Validates config files the way the gateway does at boot, with an empty environment. */
function validate(files: { name: string; text: string }[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-cfg-'));
  try {
    const paths = files.map(({ name, text }) => {
      const p = path.join(dir, name);
      writeFileSync(p, text);
      return p;
    });
    return loadConfig({ configFiles: paths.join(','), env: {}, appRoot: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ops/k8s', () => {
  it('every manifest is YAML with apiVersion, kind and a name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(11);
    for (const { file, doc } of manifests) {
      expect([file, typeof doc.apiVersion, typeof doc.kind]).toEqual([file, 'string', 'string']);
      if (doc.kind !== 'Kustomization') expect([file, doc.metadata?.name]).toEqual([file, expect.any(String)]);
      if (!['Namespace', 'Kustomization'].includes(doc.kind))
        expect([file, doc.metadata.namespace]).toEqual([file, 'globalmcp']);
    }
    const kinds = manifests.map((m) => m.doc.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace',
        'ConfigMap',
        'Secret',
        'Deployment',
        'Service',
        'Ingress',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'ServiceAccount',
        'NetworkPolicy',
      ]),
    );
  });

  it('kustomization.yaml lists every manifest except the secret template', () => {
    const k = byKind('Kustomization')[0]!;
    const files = readdirSync(K8S).filter(
      (f) => /\.ya?ml$/.test(f) && !['kustomization.yaml', 'secret.yaml'].includes(f),
    );
    expect([...(k.resources as string[])].sort()).toEqual(files.sort());
  });

  describe('deployment', () => {
    const deployment = () => byKind('Deployment')[0]!;
    const container = () => deployment().spec.template.spec.containers[0];

    it('probes liveness, readiness and startup on the paths and port the app serves', () => {
      const c = container();
      expect(c.livenessProbe.httpGet).toEqual({ path: APP.liveness, port: APP.managementPort });
      expect(c.readinessProbe.httpGet).toEqual({ path: APP.readiness, port: APP.managementPort });
      expect(c.startupProbe.httpGet).toEqual({ path: APP.startup, port: APP.managementPort });
      expect(c.ports.map((p: { containerPort: number }) => p.containerPort).sort()).toEqual(
        [APP.apiPort, APP.managementPort, APP.prometheusPort].sort(),
      );
    });

    it('carries the Prometheus annotations of the metrics listener', () => {
      expect(deployment().spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(APP.prometheusPort),
        'prometheus.io/path': APP.prometheusPath,
      });
    });

    it('runs as uid 1000, non-root, without JVM options, with resources and a drain window', () => {
      const spec = deployment().spec.template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
      expect(container().securityContext).toMatchObject({ allowPrivilegeEscalation: false });
      expect(container().resources.requests).toBeDefined();
      expect(container().resources.limits.memory).toBeDefined();
      expect(JSON.stringify(spec)).not.toMatch(/JAVA_OPTS|-Xmx|-XX:/);
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(25);
      expect(spec.serviceAccountName).toBe(byKind('ServiceAccount')[0]!.metadata.name);
    });

    it('mounts application.yml and servers.yml (as directories, so updates reach the pod) and names both', () => {
      const c = container();
      const env = Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
      expect(env.SPRING_CONFIG_LOCATION).toBe('/app/config/application.yml,/app/servers/servers.yml');
      expect(env.GLOBALMCP_DATA_DIR).toBe('/app/data');
      const volumes = Object.fromEntries(deployment().spec.template.spec.volumes.map((v: any) => [v.name, v]));
      const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m]));
      expect(volumes[mounts['/app/config'].name].configMap.name).toBe('globalmcp-config');
      expect(volumes[mounts['/app/servers'].name].configMap.name).toBe('globalmcp-servers');
      expect(mounts['/app/config'].subPath).toBeUndefined();
      expect(mounts['/app/servers'].subPath).toBeUndefined();
      expect(mounts['/app/data']).toBeDefined();
      const secretKeys = c.env
        .filter((e: any) => e.valueFrom?.secretKeyRef)
        .map((e: any) => e.valueFrom.secretKeyRef.key);
      const secret = byKind('Secret')[0]!;
      for (const key of secretKeys) expect(Object.keys(secret.stringData ?? secret.data)).toContain(key);
    });

    it('the service, HPA and PDB select or target it', () => {
      const labels = deployment().spec.template.metadata.labels;
      const service = byKind('Service')[0]!;
      expect(labels).toMatchObject(service.spec.selector);
      expect(service.spec.ports.map((p: any) => p.targetPort).sort()).toEqual([8080, 8081, 9090]);
      expect(byKind('HorizontalPodAutoscaler')[0]!.spec.scaleTargetRef.name).toBe(deployment().metadata.name);
      expect(labels).toMatchObject(byKind('PodDisruptionBudget')[0]!.spec.selector.matchLabels);
      expect(byKind('PodDisruptionBudget')[0]!.spec.minAvailable).toBeLessThan(deployment().spec.replicas);
      const ingressBackend = byKind('Ingress')[0]!.spec.rules[0].http.paths[0].backend.service;
      expect(ingressBackend.name).toBe(service.metadata.name);
      expect(service.spec.ports.find((p: any) => p.port === ingressBackend.port.number).targetPort).toBe(APP.apiPort);
    });
  });

  it("the ConfigMaps' application.yml + servers.yml pass the gateway's config validation", () => {
    const data = (name: string) => byKind('ConfigMap').find((c) => c.metadata.name === name)!.data;
    const loaded = validate([
      { name: 'application.yml', text: data('globalmcp-config')['application.yml'] },
      { name: 'servers.yml', text: data('globalmcp-servers')['servers.yml'] },
    ]);
    const c = loaded.config;
    expect([c.server.port, c.management.server.port, c.management.prometheus.port]).toEqual([8080, 8081, 9090]);
    expect(Object.keys(c.mcp.servers)).toContain('everything');
    expect(c.spring.datasource.url).toContain('postgres-service:5432/globalmcp');
    expect(c.spring.data.redis.host).toBe('redis-service');
  });
});

describe('docker/', () => {
  const dockerfile = () => readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');

  it('Dockerfile: multi-stage node:22-bookworm-slim, prod deps, uid 1000, tini, liveness HEALTHCHECK, ports, CMD', () => {
    const text = dockerfile();
    expect(text).toMatch(/^ARG NODE_IMAGE=node:22-bookworm-slim$/m);
    expect(text.match(/^FROM \$\{NODE_IMAGE\} AS \w+$/gm)).toHaveLength(2);
    expect(text).toMatch(/RUN npm ci --no-audit --no-fund/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(text).toMatch(/^COPY --from=build \/src\/dist \.\/dist$/m);
    expect(text).toMatch(/^USER 1000:1000$/m);
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(text).toMatch(/^HEALTHCHECK [\s\S]*\/actuator\/health\/liveness/m);
    expect(text).toMatch(/^EXPOSE 8080 8081 9090$/m);
    expect(text).toMatch(/GLOBALMCP_DATA_DIR=\/app\/data/);
    expect(text).toMatch(/^CMD \["node", "dist\/src\/main.js"\]$/m);
    // Everything the build stage copies exists in the repository (the context is the repository root).
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/))
        expect(readdirSync(path.join(DOCKER, '..', path.dirname(src)))).toContain(path.basename(src));
    }
  });

  it('docker-compose.yml: gateway, postgres 15 with init.sql, redis with a password, nginx; healthchecks; no JAVA_OPTS', () => {
    const text = readFileSync(path.join(DOCKER, 'docker-compose.yml'), 'utf8');
    const compose = parse(text) as { services: Record<string, any> };
    expect(Object.keys(compose.services).sort()).toEqual(['globalmcp', 'nginx', 'postgres', 'redis']);
    expect(JSON.stringify(compose)).not.toMatch(/JAVA_OPTS|-Xmx/);
    expect(compose.services.postgres.image).toMatch(/^postgres:15/);
    expect(compose.services.postgres.volumes).toContain('./init.sql:/docker-entrypoint-initdb.d/init.sql:ro');
    expect(JSON.stringify(compose.services.redis.command)).toContain('--requirepass');
    for (const name of Object.keys(compose.services).filter((s) => s !== 'nginx')) {
      expect([name, compose.services[name].healthcheck?.test]).toEqual([name, expect.anything()]);
    }
    expect(JSON.stringify(compose.services.globalmcp.healthcheck.test)).toContain(':8081/actuator/health/');
    expect(compose.services.globalmcp.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    // Every variable compose needs is in .env.example.
    const example = readFileSync(path.join(DOCKER, '.env.example'), 'utf8');
    for (const m of text.matchAll(/\$\{(\w+)(?::[?-])?/g)) expect(example).toMatch(new RegExp(`^${m[1]}=`, 'm'));
  });

  it("compose's config files pass the gateway's config validation with the environment compose sets", () => {
    const compose = parse(readFileSync(path.join(DOCKER, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, any>;
    };
    const env = Object.fromEntries(
      Object.entries(compose.services.globalmcp.environment as Record<string, string>).map(([k, v]) => [
        k,
        String(v).replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, 'test-value-for-$1-at-least-32-bytes-long'),
      ]),
    );
    const files = env.SPRING_CONFIG_LOCATION!.split(',').map((p) => path.join(DOCKER, 'config', path.basename(p)));
    const loaded = loadConfig({
      configFiles: files.join(','),
      env: { ...env, SPRING_CONFIG_LOCATION: '' },
      appRoot: DOCKER,
    });
    expect(loaded.config.spring.datasource.url).toBe('jdbc:postgresql://postgres:5432/globalmcp');
    expect(loaded.config.spring.data.redis.host).toBe('redis');
    expect(loaded.config.mcp.dataDir).toBe('/app/data');
    expect(Object.keys(loaded.config.mcp.servers)).toEqual(['everything']);
    // And with no environment at all (e.g. `--validate-config` on the host).
    expect(() => loadConfig({ configFiles: files.join(','), env: {}, appRoot: DOCKER })).not.toThrow();
  });
});
