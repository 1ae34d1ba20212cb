/** Attribute values are always lists of strings (`api.md`). */
export type Attributes = Record<string, string[]>;

/** What one attestor tells the policy engine about itself at push time. */
export interface AttestorDescriptor {
  /** `aws_iid`, `join_token`, ...: also the attribute namespace. */
  readonly type: string;
  /**
   * Attribute names without the `<type>.` prefix. A `*` stands for a free
   * segment; a trailing one for the rest of the name (`ec2.instance.tag.*`
   * covers every tag name, dotted ones included).
   */
  readonly attributes: readonly string[];
  /** Names (without prefix) that always hold exactly one value: usable in SPIFFE ID templates. */
  readonly singleValued: readonly string[];
  /**
   * Names (without prefix) whose value identifies one node: those its TOFU
   * key is made of (an instance ID, a pod UID, a join-token ID), so no two
   * active agents hold the same one. A SPIFFE ID template that uses one
   * cannot render one node's ID for another.
   */
  readonly nodeUnique: readonly string[];
  /**
   * Names (without prefix, patterns as in `attributes`) whose values whoever
   * runs or launches a node can set to any text, the same text on two
   * nodes: EC2 tags, STS session names, VM and pod names. A template built
   * on them, without a node-unique attribute or `{{agent.uuid}}`, lets one
   * node claim the SPIFFE ID meant for another; pushing one gets a warning.
   */
  readonly callerChosen: readonly string[];
  /** JSON Schema of the per-policy `config` (`policy.md`); unknown keys rejected. */
  readonly configSchema: object;
  /** JSON Schema of the proof the agent sends under `proofs.<type>`. */
  readonly proofSchema: object;
  /** Default SPIFFE ID path template when a policy has none (`attestors.md`). */
  readonly defaultSpiffeIdPath: string;
  /** Whether a login binds a nonce for this attestor (today only `aws_iam`). */
  readonly bindsChallenge: boolean;
}

/** What a verified proof yields, before the host namespaces it. */
export interface Verified {
  /** keys without the `<type>.` prefix; the registry adds it */
  attributes: Attributes;
  /** selector bodies without the `<type>:` prefix (`instance:id:i-0abc`) */
  selectors: string[];
  /** node-unique attestors only; full key, e.g. `join_token/<id>` */
  tofuKey?: string;
  /**
   * Work that must commit atomically with the login (consuming a join
   * token). The login service turns it into SQL inside its single write.
   */
  consume?: { joinTokenId: string };
}

export interface VerifyContext {
  /** the nonce issued for this attestor at login start, if it binds one */
  challenge?: string;
  now: Date;
}

/**
 * A proof that did not verify. The split between what operators and agents
 * read is made here, once, for every attestor:
 * - `reason` is for operators (the audit log, the server log): the full
 *   story, naming configuration (allowed accounts, clusters, tenants, EKS
 *   clusters, audiences) where it explains the refusal. Never a secret.
 * - `agentReason` is what the unauthenticated caller is told: the attestor
 *   and the step that failed, enough for an honest operator to look the
 *   request up, and nothing of the server's configuration or of other
 *   agents. It is `reason` itself when the reason speaks only of the
 *   caller's own proof (a bad signature, an expired token, its own instance
 *   ID), which is most of them.
 */
export class ProofRejected extends Error {
  constructor(
    readonly reason: string,
    readonly agentReason: string = reason,
  ) {
    super(reason);
  }
}

/** A ProofRejected from `<type>: reason`, with the agent's shorter form when the reason names configuration. */
export function rejectionOf(type: string, reason: string, agentReason?: string): ProofRejected {
  return new ProofRejected(`${type}: ${reason}`, `${type}: ${agentReason ?? reason}`);
}

/** A dependency (cloud API, database) was unreachable: fail closed with 503. */
export class DependencyUnavailable extends Error {}

export interface Attestor<Proof = unknown, Config = unknown> extends AttestorDescriptor {
  /** Throws ProofRejected or DependencyUnavailable; never trusts unverified input. */
  verify(proof: Proof, config: Config, context: VerifyContext): Promise<Verified>;
}

/**
 * An optional property's schema as `JSONSchemaType` wants it. Ajv's type asks
 * optional properties for `nullable: true`, which would also let `null`
 * through and show in the OpenAPI document; absent is not null here, so the
 * flag exists for the type checker only. Wrapping a required property fails
 * to type-check, so optionality cannot drift either.
 */
export function optionalProperty<const S extends object>(schema: S): S & { nullable: true } {
  return schema as S & { nullable: true };
}
