import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Histogram } from 'prom-client';
import { HTTP_SERVER_REQUESTS } from './metric-names';

/**
 * Times every HTTP request the way Spring's `http.server.requests` does, so the guide's alerts and dashboards
 * work: `uri` is the route template (`/api/servers/{id}`), never the raw path, which would explode the label
 * set; unmatched requests are `NOT_FOUND`.
 */
@Injectable()
export class HttpMetricsRecorder {
  constructor(
    @InjectMetric(HTTP_SERVER_REQUESTS) private readonly histogram: Histogram<'method' | 'uri' | 'status' | 'outcome'>,
  ) {}

  attach(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      this.histogram.observe(
        {
          method: request.method,
          uri: routeTemplate(request, status),
          status: String(status),
          outcome: outcomeOf(status),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}

export function routeTemplate(request: FastifyRequest, status: number): string {
  const template = request.routeOptions?.url;
  if (!template || template === '*' || template === '/*') return status === 404 ? 'NOT_FOUND' : 'UNKNOWN';
  return template.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function outcomeOf(status: number): string {
  if (status < 200) return 'INFORMATIONAL';
  if (status < 300) return 'SUCCESS';
  if (status < 400) return 'REDIRECTION';
  if (status < 500) return 'CLIENT_ERROR';
  return 'SERVER_ERROR';
}
