import { Injectable } from '@nestjs/common';

/** Where the process is in its life: probes read it, bootstrap and shutdown write it. */
@Injectable()
export class ApplicationState {
  readonly startedAt = new Date();
  private started = false;
  private shuttingDown = false;

  markStarted(): void {
    this.started = true;
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isStarted(): boolean {
    return this.started;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  get uptimeSeconds(): number {
    return Math.round((Date.now() - this.startedAt.getTime()) / 1000);
  }
}
