/**
 * The AgentAttestation document most tests start from: one `lab` policy
 * admitting join tokens, with the SPIFFE ID template and svidTtl given.
 * `preamble` lets a test vary the text without changing the content.
 */
export function joinTokenPolicy(options: { template?: string; svidTtl?: string; preamble?: string } = {}): string {
  return `${options.preamble ?? ''}
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
${options.template ? `      spiffeIdTemplate: "${options.template}"\n` : ''}${options.svidTtl ? `      svidTtl: ${options.svidTtl}\n` : ''}`;
}
