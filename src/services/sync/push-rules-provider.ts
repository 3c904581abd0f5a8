// m.push_rules in /sync. Changes reach clients as account data (the push rules service writes
// the new ruleset there after every change); an initial sync always carries the current
// ruleset, computed fresh, because a user who never changed a rule has nothing stored.
import type { PushRulesService } from '../push/push-rules-service.ts';
import type { SyncContext, SyncProvider, SyncResponse } from './types.ts';

export class PushRulesSyncProvider implements SyncProvider {
  readonly name = 'push_rules';
  constructor(private readonly pushRules: Pick<PushRulesService, 'queryAccountDataContent'>) {}

  contribute(ctx: SyncContext, from: number | null, _to: number, response: SyncResponse): Promise<void> | undefined {
    return from === null ? this.addRules(ctx, response) : undefined;
  }

  private async addRules(ctx: SyncContext, response: SyncResponse): Promise<void> {
    const events = response.account_data.events.filter((e) => e.type !== 'm.push_rules');
    events.push({ type: 'm.push_rules', content: await this.pushRules.queryAccountDataContent(ctx.userId) });
    response.account_data.events = events;
  }
}
