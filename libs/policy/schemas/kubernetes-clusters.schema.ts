export const CLUSTER_NAME_PATTERN = '^[A-Za-z0-9._-]+$';

export const HTTPS_URL_PATTERN = '^https://';
const httpsUrl = { type: 'string', pattern: HTTPS_URL_PATTERN, maxLength: 2048 } as const;

export const kubernetesClustersSpecSchema = {
  type: 'object',
  required: ['clusters'],
  additionalProperties: false,
  properties: {
    clusters: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'issuer', 'audience'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128, pattern: CLUSTER_NAME_PATTERN },
          // any string the cluster signs into `iss` (minikube: kubernetes/serviceaccount);
          // an https URL only when keys come from jwksUri (kubernetes-clusters.check.ts)
          issuer: { type: 'string', minLength: 1, maxLength: 2048 },
          audience: { type: 'string', minLength: 1, maxLength: 256 },
          jwksUri: httpsUrl,
          jwks: {
            type: 'object',
            required: ['keys'],
            additionalProperties: false,
            properties: {
              // a JWK has many optional members; the k8s_psat verifier checks them
              keys: { type: 'array', minItems: 1, items: { type: 'object' } },
            },
          },
        },
      },
    },
  },
} as const;
