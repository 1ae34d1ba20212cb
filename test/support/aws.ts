import {
  createIidSigner,
  startAwsSimulator,
  startImds,
  type AwsSimulator,
  type IidSigner,
  type RunningHttp,
} from '@libs/testing/aws-simulator';
import { worldInit } from '@libs/testing/aws-simulator/fixtures';

export interface AwsTestbed {
  sim: AwsSimulator;
  signer: IidSigner;
  /** an IMDS serving this instance's identity document, signed as AWS signs */
  imdsFor(instanceId: string): Promise<RunningHttp>;
  /** the AwsIidCertificates document that trusts the test signer like an AWS certificate */
  certificatesSection: string;
  close(): Promise<void>;
}

/**
 * The AWS simulator with the server's SDK pointed at it through the standard
 * AWS_ENDPOINT_URL_* variables (set before the server starts, restored after).
 */
export async function startAwsTestbed(): Promise<AwsTestbed> {
  const saved = { ...process.env };
  const sim = await startAwsSimulator(worldInit());
  Object.assign(process.env, sim.endpointEnv());
  const signer = await createIidSigner();
  const started: RunningHttp[] = [];
  const indented = signer.certificatePem
    .trim()
    .split('\n')
    .map((line) => `        ${line}`)
    .join('\n');
  return {
    sim,
    signer,
    async imdsFor(instanceId) {
      const instance = sim.world.getInstance(instanceId);
      if (!instance) throw new Error(`no instance ${instanceId} in the simulated world`);
      const imds = await startImds(instance, signer, { world: sim.world });
      started.push(imds);
      return imds;
    },
    certificatesSection: `section: AwsIidCertificates\nschema: v1\nspec:\n  certificates:\n    - regions: ["*"]\n      pem: |\n${indented}\n`,
    async close() {
      await Promise.all(started.map((s) => s.close()));
      await sim.close();
      process.env = saved;
    },
  };
}
