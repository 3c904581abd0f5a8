// Push rule customisations per user. Server-default rules are not stored: they are built in
// code for each user (core/push/default-rules.ts); only what the user changed lives here.
export interface PushRuleTables {
  /** Rules the user created (rule IDs never start with "."). */
  push_rules: {
    user_id: string;
    /** override | content | room | sender | underride */
    kind: string;
    rule_id: string;
    /** Order within (user, kind): lower is more important. Gaps are fine. */
    position: number;
    /** JSON array of conditions (override and underride rules), else null. */
    conditions: string | null;
    /** Glob pattern (content rules), else null. */
    pattern: string | null;
    /** JSON array of actions. */
    actions: string;
    enabled: number;
  };
  /** The user's changes to server-default rules: only `enabled` and `actions` may change. */
  push_rule_default_settings: {
    user_id: string;
    kind: string;
    rule_id: string;
    /** null = the default's own value. */
    enabled: number | null;
    /** JSON array, or null = the default's own actions. */
    actions: string | null;
  };
}
