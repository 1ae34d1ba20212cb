import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { CollectorSettingsError, type ProofCollector } from './collector';

export interface AwsIamSettings {
  /** region of the STS endpoint to sign for (the command line's `--aws-region`, else AWS_REGION or AWS_DEFAULT_REGION) */
  awsRegion?: string;
  /** default: the AWS SDK's default credential chain (env, profile, ECS/Lambda, IMDS) */
  awsCredentials?: AwsCredentialIdentityProvider;
}

const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/**
 * `aws_iam`: an STS GetCallerIdentity request signed (SigV4) with this
 * machine's AWS credentials, binding the login's challenge in a signed
 * `X-Attestd-Challenge` header. The server sends it to STS itself; the
 * agent never does, and its credentials never leave the machine.
 */
export function awsIamCollector(settings: AwsIamSettings): ProofCollector {
  const region = settings.awsRegion;
  if (!region) throw new CollectorSettingsError('aws_iam: no AWS region (set --aws-region or AWS_REGION)');
  const host = `sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
  const signer = new SignatureV4({
    credentials: settings.awsCredentials ?? defaultProvider(),
    region,
    service: 'sts',
    sha256: Sha256,
  });
  return {
    type: 'aws_iam',
    async collect({ challenge }) {
      if (!challenge) throw new Error('aws_iam: the server issued no challenge for this login');
      const signed = await signer
        .sign({
          method: 'POST',
          protocol: 'https:',
          hostname: host,
          path: '/',
          headers: {
            host,
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'x-attestd-challenge': challenge,
          },
          body: BODY,
        })
        .catch((error: unknown) => {
          throw new Error(`aws_iam: no AWS credentials to sign with: ${(error as Error).message}`);
        });
      return { method: 'POST', url: `https://${host}/`, headers: signed.headers, body: BODY };
    },
  };
}
