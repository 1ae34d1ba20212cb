import Ajv, { type ValidateFunction } from 'ajv';
import type { Attestor, Attributes, AttestorDescriptor, VerifyContext } from './attestor';

/** A proof that does not match its attestor's proof schema: a 400, not a 401. */
export class ProofMalformed extends Error {
  constructor(
    readonly attestor: string,
    readonly errors: { path: string; message: string }[],
  ) {
    super(`${attestor}: proof is malformed: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  }
}

/** A verified proof, namespaced by the host so no attestor can speak for another. */
export interface VerifiedProof {
  type: string;
  attributes: Attributes;
  selectors: string[];
  tofuKey?: string;
  consume?: { joinTokenId: string };
}

interface Entry {
  attestor: Attestor;
  validateProof: ValidateFunction;
}

/** The one list of attestors, looked up by name (SPIRE's catalog). */
export class AttestorRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(attestors: readonly Attestor[]) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    for (const attestor of attestors) {
      if (this.entries.has(attestor.type)) throw new Error(`attestor ${attestor.type} is registered twice`);
      this.entries.set(attestor.type, { attestor, validateProof: ajv.compile(attestor.proofSchema) });
    }
  }

  get types(): string[] {
    return [...this.entries.keys()];
  }

  descriptors(): AttestorDescriptor[] {
    return [...this.entries.values()].map((entry) => entry.attestor);
  }

  has(type: string): boolean {
    return this.entries.has(type);
  }

  get(type: string): AttestorDescriptor {
    return this.entry(type).attestor;
  }

  /** Throws ProofMalformed before the attestor sees a proof of the wrong shape. */
  checkProofShape(type: string, proof: unknown): void {
    const { validateProof } = this.entry(type);
    if (!validateProof(proof)) {
      throw new ProofMalformed(
        type,
        (validateProof.errors ?? []).map((e) => ({
          path: `/proofs/${type}${e.instancePath}`,
          message: e.message ?? 'is invalid',
        })),
      );
    }
  }

  async verify(type: string, proof: unknown, config: unknown, context: VerifyContext): Promise<VerifiedProof> {
    this.checkProofShape(type, proof);
    const verified = await this.entry(type).attestor.verify(proof, config, context);
    const attributes: Attributes = {};
    for (const [name, values] of Object.entries(verified.attributes)) attributes[`${type}.${name}`] = values;
    return {
      type,
      attributes,
      selectors: verified.selectors.map((selector) => `${type}:${selector}`),
      ...(verified.tofuKey !== undefined && { tofuKey: verified.tofuKey }),
      ...(verified.consume !== undefined && { consume: verified.consume }),
    };
  }

  private entry(type: string): Entry {
    const entry = this.entries.get(type);
    if (!entry) throw new Error(`no attestor named ${type}`);
    return entry;
  }
}
