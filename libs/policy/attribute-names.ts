import type { AttestorDescriptor } from '@libs/attestors/attestor';

/**
 * The attribute names one policy may use: those its own required attestors
 * emit. Checked at push time so a typo is an error, not a silent deny.
 */
export interface PolicyAttributeNames {
  /** undefined when a rule may use `name`, else why not */
  checkRuleAttribute(name: string): string | undefined;
  /** undefined when a template may use `name` (single-valued), else why not */
  checkTemplateAttribute(name: string): string | undefined;
  /** what the emitting attestor declares about `name` (`AttestorDescriptor`); both false for unknown names */
  traitsOf(name: string): { nodeUnique: boolean; callerChosen: boolean };
  /** every node-unique attribute of the policy's attestors, `<type>.<name>` */
  nodeUniqueNames(): string[];
}

/** The placeholder for the server-assigned agent UUID; not an attestor attribute. */
export const AGENT_UUID = 'agent.uuid';

export function policyAttributeNames(
  requiredTypes: readonly string[],
  catalog: readonly AttestorDescriptor[],
): PolicyAttributeNames {
  const byType = new Map(catalog.map((descriptor) => [descriptor.type, descriptor]));
  const required = new Set(requiredTypes);

  /** The attestor that emits `name` (a pattern of its `attributes` matches), or why none does. */
  const emitter = (name: string): { descriptor: AttestorDescriptor; suffix: string } | { problem: string } => {
    const dot = name.indexOf('.');
    const type = dot < 0 ? name : name.slice(0, dot);
    const descriptor = byType.get(type);
    if (!required.has(type) || !descriptor) {
      return descriptor
        ? { problem: `attribute ${name} belongs to ${type}, which this policy does not require` }
        : { problem: `unknown attribute ${name}: names start with one of ${[...required].join(', ')}` };
    }
    const suffix = name.slice(dot + 1);
    if (suffix.split('.').includes('*')) {
      return {
        problem: `attribute ${name}: * marks a free segment in the catalog; name a concrete one (e.g. a tag name)`,
      };
    }
    return matchesAny(suffix, descriptor.attributes)
      ? { descriptor, suffix }
      : { problem: `unknown attribute ${name}: ${type} does not emit it` };
  };

  return {
    checkRuleAttribute: (name) => {
      const found = emitter(name);
      return 'problem' in found ? found.problem : undefined;
    },
    checkTemplateAttribute: (name) => {
      if (name === AGENT_UUID) return undefined;
      const found = emitter(name);
      if ('problem' in found) return found.problem;
      return matchesAny(found.suffix, found.descriptor.singleValued)
        ? undefined
        : `attribute ${name} is not single-valued; templates take single-valued attributes only`;
    },
    traitsOf: (name) => {
      const found = emitter(name);
      if ('problem' in found) return { nodeUnique: false, callerChosen: false };
      return {
        nodeUnique: matchesAny(found.suffix, found.descriptor.nodeUnique),
        callerChosen: matchesAny(found.suffix, found.descriptor.callerChosen),
      };
    },
    nodeUniqueNames: () =>
      requiredTypes.flatMap((type) => (byType.get(type)?.nodeUnique ?? []).map((name) => `${type}.${name}`)),
  };
}

/**
 * `ec2.instance.tag.env` matches `ec2.instance.tag.*`. A `*` inside a pattern
 * is one non-empty segment; a trailing `*` takes the rest of the name, dots
 * included, because what it stands for (an EC2 tag name such as
 * `kubernetes.io/role`) may itself contain dots.
 */
export function matchesAttributePattern(name: string, pattern: string): boolean {
  const nameSegments = name.split('.');
  const patternSegments = pattern.split('.');
  const open = patternSegments[patternSegments.length - 1] === '*';
  if (open ? nameSegments.length < patternSegments.length : nameSegments.length !== patternSegments.length)
    return false;
  // the length check above leaves the name at least as many segments as the pattern
  const matched = patternSegments.every((segment, i) =>
    segment === '*' ? nameSegments[i]!.length > 0 : segment === nameSegments[i],
  );
  return matched && (!open || nameSegments.slice(patternSegments.length - 1).every((segment) => segment.length > 0));
}

function matchesAny(name: string, patterns: readonly string[]): boolean {
  return name.length > 0 && patterns.some((pattern) => matchesAttributePattern(name, pattern));
}
