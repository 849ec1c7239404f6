import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process among the replicas sharing a database: host, pid and a random part (a pid is reused after a restart
 * or in another container). One per process, not per Nest application: what it names is a live process.
 */
export const INSTANCE_ID = `${hostname().slice(0, 120)}:${process.pid}:${randomBytes(4).toString('hex')}`;
