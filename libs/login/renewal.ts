import { X509Certificate } from 'node:crypto';
import {
  jwtSvidSchema,
  renewSchema,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type RenewRequest,
  type RenewResponse,
} from '@libs/contracts/agent-api';
import { ApiError } from '@libs/contracts/api-error';
import { bodyChecker } from '@libs/contracts/request-body';
import type { AgentWriteResult, AuditEventName } from '@libs/persistence';
import {
  BACKDATE_SECONDS,
  CsrRejected,
  parseCsr,
  SvidRejected,
  verifySvidChain,
  type ParsedCsr,
  type VerifiedSvid,
} from '@libs/pki';
import type {
  AuditLog,
  Clock,
  JwtSvidSigner,
  PolicySource,
  RenewalObserver,
  RenewalWrites,
  RequestContext,
  TrustAnchors,
  X509Issuer,
} from './ports';
import {
  JWT_SVID_AUDIENCE,
  MAX_IAT_SKEW_SECONDS,
  PopRejected,
  RENEW_AUDIENCE,
  verifyProofOfPossession,
  type VerifiedPop,
} from './proof-of-possession';

const checkRenew = bodyChecker<RenewRequest>(renewSchema);
const checkJwtSvid = bodyChecker<JwtSvidRequest>(jwtSvidSchema);

export interface RenewalPorts {
  /** the trust domain's time: the keys' clock */
  clock: Clock;
  trustAnchors: TrustAnchors;
  issuer: X509Issuer;
  jwtSigner: JwtSvidSigner;
  writes: RenewalWrites;
  audit: AuditLog;
  activeConfig: PolicySource;
  observer: RenewalObserver;
}

/** The SVID of a request, verified against the bundle, with its proof. */
interface Proven {
  svid: VerifiedSvid;
  pop: VerifiedPop;
}

/**
 * What an attested agent does with its current X.509-SVID (`api.md`): renew
 * it, or trade it for a JWT-SVID. The certificate is the credential and the
 * JWS proves its key is at hand; the agent's row decides whether it may.
 */
export class Renewal {
  constructor(private readonly ports: RenewalPorts) {}

  async renew(body: unknown, request: RequestContext): Promise<RenewResponse> {
    const { certChain, csr, pop } = checkRenew(body);
    const now = this.ports.clock.now();
    const subject = await parseCsr(csr).catch((error: unknown) => {
      if (error instanceof CsrRejected)
        throw new ApiError('invalid_request', error.message, [{ path: '/csr', message: error.message }]);
      throw error;
    });
    const { svid, pop: proof } = await this.prove('renew', certChain, pop, now, request, subject);
    const holder = await this.ports.writes.holderOf(svid.spiffeId, svid.serialHex);
    if (holder && holder.status !== 'active') {
      await this.refuseStatus('renew', holder.status, svid, holder.id, request);
    }
    const issued = this.ports.issuer.issueX509Svid({
      spiffeId: svid.spiffeId,
      subjectPublicKey: subject.publicKey,
      ttlSeconds: this.ttlFor(holder?.policy, certChain),
      now,
    });
    const written = await this.ports.writes.recordRenewal({
      spiffeId: svid.spiffeId,
      serial: svid.serialHex,
      jti: proof.jti,
      jtiExpiresAt: jtiExpiry(proof),
      newSerial: issued.serialHex,
      newExpiresAt: issued.notAfter,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    this.refuseUnlessRecorded(written);
    this.ports.observer.renewed({ agentId: written.agentId, serial: issued.serialHex, requestId: request.requestId });
    return {
      spiffeId: svid.spiffeId,
      svid: { certChain: issued.chainPem, expiresAt: issued.notAfter.toISOString() },
      bundle: this.ports.issuer.bundlePem(),
    };
  }

  async jwtSvid(body: unknown, request: RequestContext): Promise<JwtSvidResponse> {
    const { certChain, pop, audience } = checkJwtSvid(body);
    const now = this.ports.clock.now();
    const { svid, pop: proof } = await this.prove('jwt_svid', certChain, pop, now, request);
    // Signed before the write, so an audited success always had a token.
    const { token, expiresAt } = await this.ports.jwtSigner.sign({ sub: svid.spiffeId, aud: audience }, now);
    const written = await this.ports.writes.recordJwtSvid({
      spiffeId: svid.spiffeId,
      serial: svid.serialHex,
      jti: proof.jti,
      jtiExpiresAt: jtiExpiry(proof),
      audience,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    this.refuseUnlessRecorded(written);
    this.ports.observer.jwtSvidIssued({
      agentId: written.agentId,
      spiffeId: svid.spiffeId,
      audience,
      requestId: request.requestId,
    });
    return { token, expiresAt: expiresAt.toISOString() };
  }

  /** The chain against the bundle, then the JWS against the chain's key; any failure is a 401, audited. */
  private async prove(
    event: AuditEventName,
    certChain: string,
    pop: string,
    now: Date,
    request: RequestContext,
    csr?: ParsedCsr,
  ): Promise<Proven> {
    let svid: VerifiedSvid | undefined;
    try {
      svid = verifySvidChain(certChain, this.ports.trustAnchors.bundlePems(), now);
      const proof = await verifyProofOfPossession(pop, {
        publicKey: svid.publicKey,
        audience: event === 'renew' ? RENEW_AUDIENCE : JWT_SVID_AUDIENCE,
        now,
        ...(csr && { csrDer: csr.der }),
      });
      return { svid, pop: proof };
    } catch (error) {
      if (!(error instanceof SvidRejected) && !(error instanceof PopRejected)) throw error;
      await this.ports.audit.append({
        event,
        outcome: 'failure',
        code: 'invalid_proof_of_possession',
        reason: error.message,
        ...(svid && { spiffeId: svid.spiffeId }),
        sourceIp: request.sourceIp,
        requestId: request.requestId,
      });
      throw new ApiError('invalid_proof_of_possession', error.message);
    }
  }

  private async refuseStatus(
    event: AuditEventName,
    status: 'evicted' | 'banned',
    svid: VerifiedSvid,
    agentId: string,
    request: RequestContext,
  ): Promise<never> {
    const code = status === 'banned' ? 'agent_banned' : 'agent_evicted';
    await this.ports.audit.append({
      event,
      outcome: 'failure',
      code,
      reason: `the agent is ${status}`,
      spiffeId: svid.spiffeId,
      agentId,
      sourceIp: request.sourceIp,
      requestId: request.requestId,
    });
    throw statusError(code);
  }

  /** The write audited its refusal already; say why. */
  private refuseUnlessRecorded(written: AgentWriteResult): void {
    switch (written.verdict) {
      case 'ok':
        return;
      case 'agent_banned':
      case 'agent_evicted':
        throw statusError(written.verdict);
      case 'replayed':
        throw new ApiError(
          'invalid_proof_of_possession',
          'pop: jti was already used; sign a new proof for every request',
        );
      case 'not_current':
        throw new ApiError(
          'invalid_proof_of_possession',
          "svid: the certificate is not the agent's current SVID (it was renewed or superseded); log in again",
        );
    }
  }

  /** The agent's policy's svidTtl now; if the policy is gone, the lifetime of the SVID presented. */
  private ttlFor(policyName: string | undefined, certChain: string): number {
    const policy =
      policyName === undefined
        ? undefined
        : this.ports.activeConfig.policies.policies.find((p) => p.name === policyName);
    if (policy) return policy.svidTtlSeconds;
    const leaf = new X509Certificate(certChain);
    return Math.max(
      60,
      Math.round((leaf.validToDate.getTime() - leaf.validFromDate.getTime()) / 1000) - BACKDATE_SECONDS,
    );
  }
}

function statusError(code: 'agent_banned' | 'agent_evicted'): ApiError {
  return code === 'agent_banned'
    ? new ApiError('agent_banned', 'this agent is banned; an operator must unban it and the node must log in again')
    : new ApiError('agent_evicted', 'this agent was evicted; the node must log in again');
}

/** After iat + the allowed skew the proof is refused anyway, so its jti need not be kept longer. */
function jtiExpiry(pop: VerifiedPop): Date {
  return new Date((pop.iat + MAX_IAT_SKEW_SECONDS + 1) * 1000);
}
