export const AWS_REGION_PATTERN = '^(\\*|[a-z]{2,4}(-[a-z]+)+-[0-9]+)$';

export const awsIidCertificatesSpecSchema = {
  type: 'object',
  required: ['certificates'],
  additionalProperties: false,
  properties: {
    replaceBuiltIn: { type: 'boolean' },
    certificates: {
      type: 'array',
      items: {
        type: 'object',
        required: ['regions', 'pem'],
        additionalProperties: false,
        properties: {
          regions: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'string', pattern: AWS_REGION_PATTERN },
          },
          // the PEM's shape is checked by the section validator; its
          // certificate is parsed by the aws_iid attestor, which owns X.509
          pem: { type: 'string', minLength: 1, maxLength: 65536 },
        },
      },
    },
  },
} as const;
