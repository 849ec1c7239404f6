import { Controller, Get, Header } from '@nestjs/common';
import { register } from 'prom-client';

/** Prometheus text exposition; served on the management port and on the dedicated scrape port. */
@Controller('prometheus')
export class ActuatorPrometheusController {
  @Get()
  @Header('content-type', register.contentType)
  scrape(): Promise<string> {
    return register.metrics();
  }
}
