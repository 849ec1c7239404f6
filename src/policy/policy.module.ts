import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { MCP_POLICY_DENIALS } from 'src/metrics/metric-names';
import { AuthModule } from 'src/auth/auth.module';
import { PolicyController } from './policy.controller';
import { PolicyExplainService } from './policy-explain.service';
import { PolicyRuleEntity } from './policy-rule.entity';
import { PolicyRulesRepository } from './policy-rules.repository';
import { PolicyRulesService } from './policy-rules.service';
import { PolicyService } from './policy.service';

/**
 * Tool-level policy: the evaluation (PolicyService) every list and the call pipeline use, its rules from the
 * configuration and from `policy_rules`, and the admin API (`/api/policy`).
 */
@Module({
  imports: [TypeOrmModule.forFeature([PolicyRuleEntity]), AuthModule],
  controllers: [PolicyController],
  providers: [
    makeCounterProvider({
      name: MCP_POLICY_DENIALS,
      help: 'Tool calls refused by tool-level policy, by server and deciding rule',
      labelNames: ['server', 'rule'],
    }),
    PolicyRulesRepository,
    PolicyService,
    PolicyRulesService,
    PolicyExplainService,
  ],
  exports: [PolicyService],
})
export class PolicyModule {}
