import type { ProofCollector } from './collector';

export interface AwsIidSettings {
  /** IMDS base URL (`--imds-endpoint`, else AWS_EC2_METADATA_SERVICE_ENDPOINT); default http://169.254.169.254 */
  imdsEndpoint?: string;
}

const DEFAULT_IMDS = 'http://169.254.169.254';
const TIMEOUT_MS = 5_000;

/**
 * `aws_iid`: the instance identity document and its `rsa2048` PKCS#7
 * signature from IMDSv2 (a session token first, as IMDSv2 requires).
 * The document is sent exactly as served: its bytes are what AWS signed.
 */
export function awsIidCollector(settings: AwsIidSettings): ProofCollector {
  const base = (settings.imdsEndpoint ?? DEFAULT_IMDS).replace(/\/+$/, '');
  return {
    type: 'aws_iid',
    async collect() {
      const token = await imds(`${base}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      });
      const headers = { 'x-aws-ec2-metadata-token': token };
      const [document, signature] = await Promise.all([
        imds(`${base}/latest/dynamic/instance-identity/document`, { headers }),
        imds(`${base}/latest/dynamic/instance-identity/rsa2048`, { headers }),
      ]);
      return { document, signature };
    },
  };
}

async function imds(url: string, init: RequestInit): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new Error(
      `aws_iid: cannot reach the instance metadata service at ${new URL(url).origin}: ${(error as Error).message}`,
    );
  }
  if (!response.ok)
    throw new Error(`aws_iid: instance metadata service answered ${response.status} for ${new URL(url).pathname}`);
  return response.text();
}
