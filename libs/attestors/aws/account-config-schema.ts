import type { JSONSchemaType } from 'ajv';
// not re-exported by the package root; a type-only import, erased at build
import type { PropertiesSchema } from 'ajv/dist/types/json-schema';
import { optionalProperty } from '../attestor';
import type { AwsAccountConfig } from './ports';

const ACCOUNT_ID: JSONSchemaType<string> = { type: 'string', pattern: '^[0-9]{12}$' };

/**
 * The JSON Schema properties of `AwsAccountConfig`, shared by the `aws_iid`
 * and `aws_iam` config schemas.
 */
export const AWS_ACCOUNT_CONFIG_PROPERTIES: PropertiesSchema<AwsAccountConfig> = {
  awsAccountsAllowed: optionalProperty({ type: 'array', items: ACCOUNT_ID, maxItems: 1000, uniqueItems: true }),
  assumeOrgRoleArns: optionalProperty({
    type: 'array',
    items: { type: 'string', pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$' },
    maxItems: 20,
    uniqueItems: true,
  }),
};
