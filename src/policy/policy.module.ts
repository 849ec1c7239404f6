import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { MCP_POLICY_DENIALS } from 'src/metrics/metric-names';
import { PolicyRuleEntity } from './policy-rule.entity';
import { PolicyRulesRepository } from './policy-rules.repository';
import { PolicyService } from './policy.service';

/**
 * Tool-level policy: the evaluation (PolicyService) every list and the call pipeline use, its rules from the
 * configuration and from `policy_rules`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([PolicyRuleEntity])],
  providers: [
    makeCounterProvider({
      name: MCP_POLICY_DENIALS,
      help: 'Tool calls refused by tool-level policy, by server and deciding rule',
      labelNames: ['server', 'rule'],
    }),
    PolicyRulesRepository,
    PolicyService,
  ],
  exports: [PolicyService],
})
export class PolicyModule {}
