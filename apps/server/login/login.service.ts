import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { CompleteLoginRequest, CompleteLoginResponse, StartLoginRequest, StartLoginResponse } from '../../../libs/contracts/agent-api';
import { completeLoginSchema, startLoginSchema } from '../../../libs/contracts/agent-api';
import { AttestorRegistry, ProofMalformed } from '../../../libs/attestors/registry';
import { AuditRepository, isDatabaseUnavailable, LoginWriteBatcher, recordLoginFailure, type Database, type LoginWriteResult } from '../../../libs/persistence';
import type { ProblemCode } from '../../../libs/contracts/problem';
import { CsrRejected, parseCsr } from '../../../libs/pki';
import { spiffeIdFor, type CompiledPolicy } from '../../../libs/policy';
import { ApiError } from '../../../libs/contracts/api-error';
import { bodyChecker } from '../../../libs/contracts/request-body';
import { ActiveConfig } from '../config-documents/active-config';
import { DATABASE } from '../database/database.module';
import { IdentityService } from '../identity/identity.service';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';
import { canReattest, decide, type LoginDecision } from '../../../libs/login/policy-decision';
import { CompletedLogins } from '../../../libs/login/completed-logins';
import type { LoginState } from '../../../libs/login/login-id';

export interface RequestContext {
  requestId: string;
  sourceIp: string;
}

const checkStart = bodyChecker<StartLoginRequest>(startLoginSchema);
const checkComplete = bodyChecker<CompleteLoginRequest>(completeLoginSchema);

const NO_POLICY = 'no cluster policy authorizes the provided attestors';

/** What a completion learnt before it ended: the policy chosen or denying (for its metrics), and whether its end is written. */
interface LoginTrace {
  policy?: string;
  /** the audit event is written and the login ID used up */
  recorded?: boolean;
}

/** The login protocol (`api.md`): start, then complete with proofs and a CSR. */
@Injectable()
export class LoginService {
  private readonly completed = new CompletedLogins();
  /** concurrent completions share a transaction (group commit; login-batch.ts) */
  private readonly logins: LoginWriteBatcher;

  constructor(
    private readonly registry: AttestorRegistry,
    private readonly active: ActiveConfig,
    private readonly identity: IdentityService,
    private readonly audit: AuditRepository,
    @Inject(DATABASE) private readonly db: Database,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.logins = new LoginWriteBatcher(db);
  }

  /** A login refused at its start is counted as a failed login; one that starts is counted when it completes. */
  async start(body: unknown, request: RequestContext): Promise<StartLoginResponse> {
    try {
      return await this.startLogin(body, request);
    } catch (error) {
      this.metrics.count(INSTRUMENTS.logins, { outcome: 'failure', code: problemCodeOf(error), policy: 'none' });
      throw error;
    }
  }

  /** Counts every completion (`attestd.logins`) and times it (`attestd.login.duration`). */
  async complete(loginId: string, body: unknown, request: RequestContext): Promise<CompleteLoginResponse> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const trace: LoginTrace = {};
    try {
      const response = await this.completeLogin(loginId, body, request, trace);
      this.metrics.count(INSTRUMENTS.logins, { outcome: 'success', code: 'ok', policy: response.policy });
      this.metrics.record(INSTRUMENTS.loginDuration, seconds(), { outcome: 'success' });
      return response;
    } catch (error) {
      this.metrics.count(INSTRUMENTS.logins, { outcome: 'failure', code: problemCodeOf(error), policy: trace.policy ?? 'none' });
      this.metrics.record(INSTRUMENTS.loginDuration, seconds(), { outcome: 'failure' });
      throw error;
    }
  }

  private async startLogin(body: unknown, request: RequestContext): Promise<StartLoginResponse> {
    const { providedMethods } = checkStart(body);
    const unknown = providedMethods.filter((m) => !this.registry.has(m));
    if (unknown.length > 0) {
      throw new ApiError('invalid_request', `unknown attestor ${unknown.join(', ')}; known: ${this.registry.types.join(', ')}`, [
        { path: '/providedMethods', message: `unknown attestor ${unknown.join(', ')}` },
      ]);
    }
    const candidates = this.active.policies.candidatesFor(providedMethods);
    if (candidates.length === 0) await this.refuseNoPolicy(providedMethods, request);
    const challenges: Record<string, string> = {};
    for (const method of providedMethods) {
      if (this.registry.get(method).bindsChallenge) challenges[method] = randomBytes(32).toString('base64url');
    }
    const { loginId, state } = this.identity.loginIds.issue(providedMethods, challenges, new Date());
    this.logger.info(
      { loginId: state.nonce, providedMethods, candidatePolicies: candidates.map((p) => p.name), requestId: request.requestId },
      'Login started with multi-attestation support',
    );
    return { loginId, expiresAt: state.expiresAt.toISOString(), requiredAttestors: unionOfRequired(candidates), challenges };
  }

  /**
   * Once a genuine login ID is opened, the completion is final whatever
   * happens next: a malformed body, a refused proof, a bug or a failed
   * write is audited and uses the login ID up, so one login ID never serves
   * two attempts and no failure goes unrecorded.
   */
  private async completeLogin(loginId: string, body: unknown, request: RequestContext, trace: LoginTrace): Promise<CompleteLoginResponse> {
    const now = new Date();
    const login = this.identity.loginIds.open(loginId, now);
    // like a forged login ID: no verification, no audit row
    if (!this.completed.claim(login, now)) throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    try {
      return await this.completeOpened(login, body, request, trace, now);
    } catch (error) {
      if (!trace.recorded) await this.recordFailure(error, login, request);
      throw error;
    }
  }

  private async completeOpened(login: LoginState, body: unknown, request: RequestContext, trace: LoginTrace, now: Date): Promise<CompleteLoginResponse> {
    const { proofs, csr } = checkComplete(body);
    const candidates = this.active.policies.candidatesFor(login.providedMethods);
    if (candidates.length === 0) {
      this.logger.warn({ providedMethods: login.providedMethods, requestId: request.requestId }, NO_POLICY);
      throw new ApiError('no_policy_for_methods', NO_POLICY);
    }
    this.checkProofsPresent(proofs, login, candidates);
    const subject = await parseCsr(csr).catch((error: unknown) => {
      if (error instanceof CsrRejected) throw new ApiError('invalid_request', error.message, [{ path: '/csr', message: error.message }]);
      throw error;
    });

    const onProof = (attestorType: string, outcome: 'success' | 'failed') => this.metrics.count(INSTRUMENTS.attestationProofs, { attestor_type: attestorType, outcome });
    const decision = await decide(candidates, proofs, this.registry, { challenges: login.challenges, now, onProof });
    if (decision.kind === 'policy_denied') trace.policy = decision.policy;
    if (decision.kind !== 'authorized') return this.refuse(decision, login, request, trace);

    const { policy, attributes } = decision;
    trace.policy = policy.name;
    const agentId = randomUUID();
    const path = policy.renderSpiffeIdPath(attributes, agentId);
    if (!path.ok) {
      // names an attribute of the policy's attestors and this node's own value: the agent may read it
      const reason = `policy ${policy.name}: ${path.reason}`;
      return this.refuse({ kind: 'policy_denied', policy: policy.name, reason, agentReason: reason, attributes }, login, request, trace);
    }
    const agentSpiffeId = spiffeIdFor(this.settings.trustDomain, path.path);
    const svid = this.identity.ca.issueX509Svid({ spiffeId: agentSpiffeId, subjectPublicKey: subject.publicKey, ttlSeconds: policy.svidTtlSeconds, now });
    const selectors = decision.proofs.flatMap((p) => p.selectors);
    const tofuKeys = decision.proofs.flatMap((p) => (p.tofuKey ? [p.tofuKey] : []));
    const joinTokenId = decision.proofs.find((p) => p.consume)?.consume?.joinTokenId;
    const written = await this.logins.write({
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      agentId,
      spiffeId: agentSpiffeId,
      policy: policy.name,
      attestorTypes: policy.requiredTypes.slice(),
      attributes,
      selectors,
      tofuKeys,
      tofu: policy.tofu,
      ...(joinTokenId !== undefined && { joinTokenId }),
      svidSerial: svid.serialHex,
      svidExpiresAt: svid.notAfter,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    trace.recorded = true;
    if (written.outcome === 'contended') return this.refuseContended(login, policy.name, attributes, request);
    if (written.outcome !== 'recorded') this.refuseConflict(written, { spiffeId: agentSpiffeId, policy: policy.name }, request);
    this.metrics.count(INSTRUMENTS.svidsIssued, { kind: 'x509', reason: 'login' });
    // the attribute list is built only when it will be written (the bench, and quiet deployments, log at warn)
    if (this.logger.isLevelEnabled('info')) {
      this.logger.info(
        { agentId, spiffeId: agentSpiffeId, policy: policy.name, agentAttestationAttributes: describeAttributes(attributes), requestId: request.requestId },
        'Authorization received and verified',
      );
    }
    return {
      agentId,
      spiffeId: agentSpiffeId,
      policy: policy.name,
      attributes,
      selectors,
      svid: { certChain: svid.chainPem, expiresAt: svid.notAfter.toISOString() },
      bundle: this.identity.ca.bundlePem(),
      reattestable: canReattest(policy, decision.proofs),
    };
  }

  /** The login write found the login ID used, the token spent, the node known, or its SPIFFE ID taken. */
  private refuseConflict(written: Exclude<LoginWriteResult, { outcome: 'recorded' | 'contended' }>, wanted: { spiffeId: string; policy: string }, request: RequestContext): never {
    switch (written.outcome) {
      case 'login_not_found':
        throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
      case 'join_token_used':
        throw new ApiError('attestation_failed', 'join_token: token is unknown, expired or already used');
      case 'agent_banned':
        throw new ApiError('agent_banned', 'this node is banned; an operator must unban it');
      case 'node_already_attested': {
        const attestor = written.tofuKey.split('/')[0]!;
        this.metrics.count(INSTRUMENTS.tofuConflicts, { attestor_type: attestor });
        this.logger.warn({ attestor, tofuKey: written.tofuKey, agentId: written.holderId, requestId: request.requestId }, 'Node already attested (TOFU); possible security incident');
        // the holder's UUID is in the warning above and the audit event, not for the caller
        throw new ApiError('node_already_attested', 'this node already attested; an operator must evict it first');
      }
      case 'spiffe_id_in_use':
        // another node rendered the same SPIFFE ID: a template without a node-unique attribute, or a node claiming another's name
        this.logger.warn({ spiffeId: wanted.spiffeId, policy: wanted.policy, agentId: written.holderId, requestId: request.requestId }, 'login: SPIFFE ID held by another active agent; refused');
        throw new ApiError('spiffe_id_in_use', `${wanted.spiffeId} is held by another active agent; an operator must evict that agent first`);
    }
  }

  /**
   * The login write lost every round to other logins of the same node
   * (tofu off; see recordLogin): nothing was written, so the refusal is
   * audited and the login ID used up here, and the agent retries later.
   */
  private async refuseContended(login: LoginState, policy: string, attributes: Record<string, string[]>, request: RequestContext): Promise<never> {
    const reason = 'other logins of this node were being recorded at the same time; retry';
    this.logger.warn({ policy, loginId: login.nonce, requestId: request.requestId }, 'login: lost to concurrent logins of the same node; refused');
    const fresh = await recordLoginFailure(this.db, {
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      code: 'unavailable',
      reason,
      attestors: login.providedMethods,
      policy,
      attributes,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    if (!fresh) throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    throw new ApiError('unavailable', reason);
  }

  /** Every proof the candidates need must be there, and none that was not announced. */
  private checkProofsPresent(proofs: Record<string, unknown>, login: LoginState, candidates: readonly CompiledPolicy[]): void {
    const errors: { path: string; message: string }[] = [];
    for (const type of Object.keys(proofs)) {
      if (!login.providedMethods.includes(type)) errors.push({ path: `/proofs/${type}`, message: 'was not among providedMethods at login start' });
    }
    for (const type of unionOfRequired(candidates)) {
      if (!(type in proofs)) errors.push({ path: `/proofs/${type}`, message: 'proof is required' });
    }
    if (errors.length > 0) throw new ApiError('invalid_request', errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
    try {
      for (const [type, proof] of Object.entries(proofs)) this.registry.checkProofShape(type, proof);
    } catch (error) {
      if (error instanceof ProofMalformed) throw new ApiError('invalid_request', error.message, error.errors);
      throw error;
    }
  }

  private async refuseNoPolicy(providedMethods: string[], request: RequestContext): Promise<never> {
    this.logger.warn({ providedMethods, requestId: request.requestId }, NO_POLICY);
    await this.audit.append({
      event: 'login',
      outcome: 'failure',
      code: 'no_policy_for_methods',
      reason: NO_POLICY,
      attestors: providedMethods,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    throw new ApiError('no_policy_for_methods', NO_POLICY);
  }

  /** A failed completion is audited and uses up its login ID, in one statement. */
  private async refuse(decision: Exclude<LoginDecision, { kind: 'authorized' }>, login: LoginState, request: RequestContext, trace: LoginTrace): Promise<never> {
    const attestor = decision.kind === 'policy_denied' ? `policy:${decision.policy}` : decision.attestor;
    this.logger.warn({ attestor, reason: decision.reason, loginId: login.nonce, requestId: request.requestId }, 'Attestor rejected proof, policy failed');
    const fresh = await recordLoginFailure(this.db, {
      loginNonce: login.nonce,
      loginExpiresAt: login.expiresAt,
      code: decision.kind,
      reason: decision.reason,
      attestors: login.providedMethods,
      ...(decision.kind === 'policy_denied' && { policy: decision.policy, attributes: decision.attributes }),
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    trace.recorded = true;
    if (!fresh) throw new ApiError('login_not_found', 'login ID is unknown, forged or already completed');
    throw new ApiError(decision.kind, decision.agentReason);
  }

  /** A completion that failed before writing its end: audit it and use its login ID up. */
  private async recordFailure(error: unknown, login: LoginState, request: RequestContext): Promise<void> {
    const code = problemCodeOf(error);
    // a bug's message stays in the server log (the problem filter logs it), out of the audit log
    const reason = error instanceof ApiError ? error.detail : `internal error; request id ${request.requestId}`;
    try {
      await recordLoginFailure(this.db, {
        loginNonce: login.nonce,
        loginExpiresAt: login.expiresAt,
        code,
        reason,
        attestors: login.providedMethods,
        sourceIp: request.sourceIp,
        requestId: request.requestId,
      });
    } catch (writeError) {
      this.logger.error({ err: writeError, code, requestId: request.requestId }, 'login: cannot record a failed completion');
    }
  }
}

/** The problem code the filter will answer with (`apps/server/http/problem.filter.ts`). */
function problemCodeOf(error: unknown): ProblemCode {
  if (error instanceof ApiError) return error.code;
  return isDatabaseUnavailable(error) ? 'unavailable' : 'internal_error';
}

function unionOfRequired(policies: readonly CompiledPolicy[]): string[] {
  return [...new Set(policies.flatMap((p) => p.requiredTypes))];
}

/** `aws_iid:aws_iid.account.id="123456789012"`, as the log table shows. */
function describeAttributes(attributes: Record<string, string[]>): string[] {
  return Object.entries(attributes).flatMap(([name, values]) => values.map((v) => `${name.split('.')[0]}:${name}=${JSON.stringify(v)}`));
}
