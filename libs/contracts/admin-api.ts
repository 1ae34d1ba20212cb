// Wire types of the Admin API (`api.md`): what the server answers (its
// repositories build these shapes) and what attestctl reads.

export type AgentStatus = 'active' | 'evicted' | 'banned';
export const AGENT_STATUSES: readonly AgentStatus[] = ['active', 'evicted', 'banned'];

export type AuditOutcome = 'success' | 'failure';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['success', 'failure'];

export type AgentChange = 'evict' | 'ban' | 'unban';

/** A stored configuration version (`GET /v1/config/{section}` and its history). */
export interface VersionSummary {
  section: string;
  version: number;
  sha256: string;
  createdAt: string;
}

/**
 * Something a valid document does that is probably not meant (a SPIFFE ID
 * template two nodes can render alike), placed like an `invalid_config`
 * error; it never stops the document.
 */
export interface ConfigWarning {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** `PUT /v1/config/{section}`, `…/rollback`: the version, and the document's warnings (additive; may be empty). */
export interface PushedVersion extends VersionSummary {
  warnings: ConfigWarning[];
}

/** `POST /v1/config/{section}/validate` */
export interface ValidationAnswer {
  valid: true;
  warnings: ConfigWarning[];
}

/** `GET /v1/config/{section}` as JSON */
export interface StoredVersion extends VersionSummary {
  createdBy: string;
  document: unknown;
}

export interface VersionHistory {
  items: { version: number; sha256: string; createdAt: string; createdBy: string }[];
}

/** `POST /v1/config/{section}/simulate`: recent login attempts replayed against a candidate document. */
export interface SimulationResult {
  /** attempts replayed: `unchanged` + `nowAllowed` + `nowDenied` + `changed` */
  evaluated: number;
  unchanged: number;
  nowAllowed: SimulatedLogin[];
  nowDenied: SimulatedLogin[];
  /** allowed before and after, but under another policy or SPIFFE ID */
  changed: SimulatedLogin[];
  /** attempts read but not replayable: no proof of theirs verified, so no attributes were recorded */
  skipped: number;
  /** the attempts read: the newest `limit`, none before `since` */
  window: { limit: number; since: string | null; oldest: string | null; newest: string | null };
}

/** One replayed login attempt: what was decided then, and what the candidate decides. */
export interface SimulatedLogin {
  auditId: string;
  at: string;
  attestors: string[];
  /** the agent the attempt created, or the one holding the node's TOFU key */
  agentId: string | null;
  sourceIp: string | null;
  attributes: Record<string, string[]>;
  was: { allowed: boolean; outcome: AuditOutcome; code: string | null; policy: string | null; spiffeId: string | null };
  /** the candidate's decision: the policy that allows (or the first that denies), the SPIFFE ID, why not */
  now: { allowed: boolean; code: string | null; policy: string | null; spiffeId: string | null; reason: string | null };
}

export interface Agent {
  id: string;
  spiffeId: string;
  attestorTypes: string[];
  tofuKeys: string[];
  status: AgentStatus;
  policy: string;
  attributes: Record<string, string[]>;
  selectors: string[];
  firstAttestedAt: string;
  lastSeenAt: string;
  svidSerial: string | null;
  svidExpiresAt: string | null;
}

export type AuditEventName =
  'login' | 'renew' | 'jwt_svid' | 'evict' | 'ban' | 'unban' | 'config_change' | 'join_token_created';

export interface AuditEvent {
  id: string;
  at: string;
  event: AuditEventName;
  outcome: AuditOutcome;
  code: string | null;
  reason: string | null;
  attestors: string[];
  policy: string | null;
  attributes: Record<string, string[]> | null;
  spiffeId: string | null;
  agentId: string | null;
  sourceIp: string | null;
  requestId: string | null;
  actor: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AgentQuery {
  status?: AgentStatus;
  attestor?: string;
  cursor?: string;
  limit?: number;
}

export interface AuditQuery {
  outcome?: AuditOutcome;
  attestor?: string;
  agentId?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
}

export interface JoinToken {
  id: string;
  token: string;
  expiresAt: string;
}
