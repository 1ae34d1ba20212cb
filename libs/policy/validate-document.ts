import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { reportedConfigErrors, sortConfigErrors, type ConfigError, type ValidationResult } from './config-error';
import { agentAttestationSpecSchema } from './schemas/agent-attestation.schema';
import { awsIidCertificatesSpecSchema } from './schemas/aws-iid-certificates.schema';
import { envelopeSchema } from './schemas/envelope.schema';
import { kubernetesClustersSpecSchema } from './schemas/kubernetes-clusters.schema';
import { compileSectionSchema, type SchemaCheck, type SchemaError } from './schemas/schema-validator';
import { schemaVerdict, type SchemaVerdict } from './schemas/schema-verdict';
import { checkAgentAttestation, warnAgentAttestation } from './sections/agent-attestation.check';
import { checkAwsIidCertificates } from './sections/aws-iid-certificates.check';
import { checkKubernetesClusters } from './sections/kubernetes-clusters.check';
import { SECTION_NAMES, type ConfigDocument, type SectionName, type SpecOf } from './spec-types';
import { parseConfigDocument, type ContentType, type ParsedDocument } from './yaml-document';

const checkEnvelope = compileSectionSchema(envelopeSchema);

/**
 * Per section: its spec schema, the list the semantic check walks, and that
 * check, which skips the parts the schema rejected.
 */
const sections: {
  [S in SectionName]: {
    schema: SchemaCheck;
    itemsKey: string;
    check(spec: SpecOf[S], catalog: readonly AttestorDescriptor[], verdict: SchemaVerdict): SchemaError[];
    /** what a valid spec does that is probably not meant; never refuses it */
    warn?(spec: SpecOf[S], catalog: readonly AttestorDescriptor[]): SchemaError[];
  };
} = {
  AgentAttestation: {
    schema: compileSectionSchema(agentAttestationSpecSchema),
    itemsKey: 'policies',
    check: checkAgentAttestation,
    warn: warnAgentAttestation,
  },
  AwsIidCertificates: {
    schema: compileSectionSchema(awsIidCertificatesSpecSchema),
    itemsKey: 'certificates',
    check: (spec, _catalog, verdict) => checkAwsIidCertificates(spec, verdict),
  },
  KubernetesClusters: {
    schema: compileSectionSchema(kubernetesClustersSpecSchema),
    itemsKey: 'clusters',
    check: (spec, _catalog, verdict) => checkKubernetesClusters(spec, verdict),
  },
};

/**
 * Parse (bounded), envelope schema, section schema, then the semantic checks
 * (catalog types and configs, rule attribute names, regex and CIDR operands,
 * templates, unique names). Collects every error it can; never throws on
 * input. A valid document comes with its warnings (templates two nodes can
 * render alike), placed like errors.
 */
export function validateDocument<S extends SectionName>(
  section: S,
  body: string,
  catalog: readonly AttestorDescriptor[],
  opts: { contentType?: ContentType } = {},
): ValidationResult<ConfigDocument<S>> {
  if (!(SECTION_NAMES as readonly string[]).includes(section)) {
    return {
      ok: false,
      errors: [
        { path: '/section', message: `unknown section ${String(section)}; sections are ${SECTION_NAMES.join(', ')}` },
      ],
    };
  }
  const parsed = parseConfigDocument(body, opts.contentType === 'json' ? 'json' : 'yaml');
  if (!parsed.ok) return { ok: false, errors: reportedConfigErrors(parsed.errors) };
  const { document } = parsed;
  const place = (errors: readonly SchemaError[]): ValidationResult<ConfigDocument<S>> => ({
    ok: false,
    errors: reportedConfigErrors(errors.map((error) => locate(document, error))),
  });

  const envelopeErrors = checkEnvelope(document.value, '');
  if (envelopeErrors.length > 0) return place(envelopeErrors);
  const envelope = document.value as { section: SectionName; schema: 'v1'; spec: unknown };
  if (envelope.section !== section) {
    return place([
      {
        path: '/section',
        message: `must be ${section}, the section being written (found ${envelope.section})`,
        at: 'value',
      },
    ]);
  }

  const rules = sections[section];
  const schemaErrors = rules.schema(envelope.spec, '/spec');
  const verdict = schemaVerdict(schemaErrors);
  const list = (envelope.spec as Record<string, unknown> | null)?.[rules.itemsKey];
  // The semantic check walks the list: it needs the spec and the list well-formed.
  const listUsable = verdict.shaped('/spec') && verdict.shaped(`/spec/${rules.itemsKey}`) && Array.isArray(list);
  const semanticErrors = listUsable ? rules.check(envelope.spec as SpecOf[S], catalog, verdict) : [];

  const errors = [...schemaErrors, ...semanticErrors];
  if (errors.length > 0) return place(errors);
  const warnings = rules.warn?.(envelope.spec as SpecOf[S], catalog) ?? [];
  return {
    ok: true,
    value: document.value as ConfigDocument<S>,
    warnings: sortConfigErrors(warnings.map((warning) => locate(document, warning))),
  };
}

function locate(document: ParsedDocument, error: SchemaError): ConfigError {
  return { path: error.path, ...document.locate(error.path, error.at), message: error.message };
}
