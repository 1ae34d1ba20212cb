// The persistence lib's public API: the only code that touches Prisma.
export { openDatabase, type Database, type DatabaseTarget, type MaintenanceSession } from './database';
export { migrate, readMigrations } from './migrator';
export {
  recordLogin,
  recordLogins,
  recordLoginFailure,
  isDatabaseUnavailable,
  type LoginRecord,
  type LoginWriteResult,
  type LoginFailureRecord,
} from './login-write';
export { LoginWriteBatcher, DEFAULT_LOGIN_BATCH, type LoginBatchOptions } from './login-batch';
export {
  AuditRepository,
  type AuditEvent,
  type AuditFilter,
  type NewAuditEvent,
  type AuditEventName,
} from './audit.repository';
export {
  AgentsRepository,
  type AgentView,
  type AgentFilter,
  type AgentStatus,
  type StatusChange,
} from './agents.repository';
export { ConfigRepository, type StoredConfigVersion, type NewConfigVersion } from './config.repository';
export {
  listenForConfigNotices,
  CONFIG_CHANNEL,
  type ConfigNotice,
  type ConfigNoticeHandlers,
  type ConfigNoticeListener,
} from './config-notifications';
export { JoinTokensRepository } from './join-tokens.repository';
export { KeysRepository, type StoredKey } from './keys.repository';
export { AdminTokensRepository, type AdminRole } from './admin-tokens.repository';
export { decodeCursor, AUDIT_KEY, UUID_KEY, type KeyPattern } from './cursor';
export {
  RenewalRepository,
  type RenewalRecord,
  type AgentWriteResult,
  type AgentWriteVerdict,
} from './renewal.repository';
export {
  runRetentionPass,
  RETENTION_TABLES,
  type RetentionPolicy,
  type RetentionPassOptions,
  type RetentionPassResult,
  type RetentionTable,
} from './retention/retention-pass';
