// The database as Kysely sees it: one interface per area, joined here. Each area's tables are
// declared in their own file next to this one and created by a numbered migration.
import type { AccountTables } from './accounts.ts';
import type { MetaTables } from './meta.ts';
import type { RoomTables } from './rooms.ts';
import type { PushRuleTables } from './push-rules.ts';
import type { AliasTables } from './aliases.ts';
import type { AccountDataTables } from './account-data.ts';
import type { ReceiptTables } from './receipts.ts';
import type { PresenceTables } from './presence.ts';
import type { PushActionTables } from './push-actions.ts';
import type { SearchTables } from './search.ts';
import type { ReportTables } from './reports.ts';
import type { AppserviceTables } from './appservices.ts';
import type { E2eeKeyTables } from './e2ee-keys.ts';
import type { ToDeviceTables } from './to-device.ts';
import type { KeyBackupTables } from './key-backup.ts';
import type { DehydratedDeviceTables } from './dehydrated-devices.ts';
import type { MediaTables } from './media.ts';

export type DB = MetaTables & AccountTables & RoomTables & PushRuleTables & AliasTables & AccountDataTables & ReceiptTables & PresenceTables & PushActionTables & SearchTables & ReportTables & E2eeKeyTables & ToDeviceTables & KeyBackupTables & DehydratedDeviceTables & AppserviceTables & MediaTables;
