import type { ProblemCode } from '@libs/contracts/problem';
import type {
  AgentWriteResult,
  LoginFailureRecord,
  LoginRecord,
  LoginWriteResult,
  NewAuditEvent,
  RenewalRecord,
} from '@libs/persistence';
import type { IssuedX509Svid, IssueX509SvidRequest } from '@libs/pki';
import type { CompiledPolicySet } from '@libs/policy';

// What the login and renewal use cases need of the process around them.
// The server wires them to its repositories, keys, metrics and logger; a
// test passes plain objects.

/** Who asked: carried into audit events and log lines. */
export interface RequestContext {
  requestId: string;
  sourceIp: string;
}

export interface Clock {
  now(): Date;
}

/** The compiled AgentAttestation policies in force now (they change when a version is activated). */
export interface PolicySource {
  readonly policies: CompiledPolicySet;
}

/** Signs X.509-SVIDs with the trust domain's CA that signs now. */
export interface X509Issuer {
  issueX509Svid(request: IssueX509SvidRequest): IssuedX509Svid;
  /** the notAfter `issueX509Svid` gives an SVID at `now` for `ttlSeconds` (CertificateAuthority.svidNotAfter) */
  svidNotAfter(now: Date, ttlSeconds: number): Date;
  /** the trust bundle, PEM, as an answer carries it */
  bundlePem(): string;
}

/** Signs JWT-SVIDs with the trust domain's JWT key that signs now. */
export interface JwtSvidSigner {
  sign(claims: { sub: string; aud: string[] }, now: Date): Promise<{ token: string; expiresAt: Date }>;
}

/** The certificates a presented SVID must chain to: every CA still published. */
export interface TrustAnchors {
  bundlePems(): string[];
}

export interface AuditLog {
  append(event: NewAuditEvent): Promise<void>;
}

/** The login's writes: each one statement, its audit event included. */
export interface LoginWrites {
  write(login: LoginRecord): Promise<LoginWriteResult>;
  /** false when the login ID was already used */
  recordFailure(failure: LoginFailureRecord): Promise<boolean>;
  /** whether an error means the database could not be reached (answered 503, not 500) */
  isUnavailable(error: unknown): boolean;
}

/** The agent rows renewal and JWT-SVID requests move: each one statement, its audit event included. */
export interface RenewalWrites {
  recordRenewal(record: RenewalRecord): Promise<AgentWriteResult>;
  /** a recorded renewal's expiry, set again while `serial` is still the agent's current SVID */
  correctSvidExpiry(agentId: string, serial: string, expiresAt: Date): Promise<void>;
  recordJwtSvid(
    record: Omit<RenewalRecord, 'newSerial' | 'newExpiresAt'> & { audience: string[] },
  ): Promise<AgentWriteResult>;
}

/**
 * What a login does, as it happens, for the server's metrics and log. Each
 * call is one thing that happened; the observer decides what it is worth
 * (a counter, a log line at some level, nothing).
 */
export interface LoginObserver {
  /** a login was refused at its start */
  startRefused(code: ProblemCode): void;
  started(login: { loginId: string; providedMethods: string[]; candidatePolicies: string[]; requestId: string }): void;
  /** no policy in force takes these attestors */
  noPolicy(providedMethods: string[], requestId: string): void;
  /** a proof's verdict (`decide()`'s ProofObserver) */
  proofVerified(attestorType: string, outcome: 'success' | 'failed'): void;
  /** an attestor or a policy refused the login; `attestor` is `policy:<name>` for a policy */
  refused(refusal: { attestor: string; reason: string; loginId: string; requestId: string }): void;
  /** the login was written and its X.509-SVID is answered */
  authorized(login: {
    agentId: string;
    spiffeId: string;
    policy: string;
    attributes: Record<string, string[]>;
    requestId: string;
  }): void;
  /** the node's TOFU key is held by another agent */
  tofuConflict(conflict: { attestor: string; tofuKey: string; agentId: string; requestId: string }): void;
  spiffeIdInUse(conflict: { spiffeId: string; policy: string; agentId: string; requestId: string }): void;
  /** the write lost every round to other logins of the same node */
  contended(login: { policy: string; loginId: string; requestId: string }): void;
  /** a failed completion could not be audited */
  failureNotRecorded(error: unknown, code: ProblemCode, requestId: string): void;
  /** every completion ends here: `policy` is the one chosen or denying, if any */
  completed(
    outcome:
      | { ok: true; policy: string; seconds: number }
      | { ok: false; code: ProblemCode; policy: string | undefined; seconds: number },
  ): void;
}

/** What renewals and JWT-SVID requests do, for the server's metrics and log. */
export interface RenewalObserver {
  renewed(renewal: { agentId: string | null; serial: string; requestId: string }): void;
  jwtSvidIssued(issue: { agentId: string | null; spiffeId: string; audience: string[]; requestId: string }): void;
}
