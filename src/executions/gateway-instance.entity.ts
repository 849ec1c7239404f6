import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A gateway process and its last heartbeat (migration ExecutionOwners). */
@Entity({ name: 'gateway_instances' })
export class GatewayInstanceEntity {
  @PrimaryColumn({ type: 'varchar', length: 200, primaryKeyConstraintName: 'pk_gateway_instances' })
  id!: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', default: () => 'now()' })
  heartbeatAt!: Date;
}
