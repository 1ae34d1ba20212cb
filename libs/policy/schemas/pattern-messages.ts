import { POLICY_NAME_PATTERN } from './agent-attestation.schema';
import { AWS_REGION_PATTERN } from './aws-iid-certificates.schema';
import { CLUSTER_NAME_PATTERN, HTTPS_URL_PATTERN } from './kubernetes-clusters.schema';

/** Words for our own patterns: an operator should not have to read a regular expression. */
export const PATTERN_MESSAGES: ReadonlyMap<string, string> = new Map([
  [POLICY_NAME_PATTERN, 'must use only a-z, 0-9, _ and -'],
  [AWS_REGION_PATTERN, 'must be an AWS region such as us-east-1, or *'],
  [CLUSTER_NAME_PATTERN, 'must use only letters, digits, ., _ and -'],
  [HTTPS_URL_PATTERN, 'must be an https URL'],
]);
