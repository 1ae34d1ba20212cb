import type { Attributes } from '@libs/attestors/attestor';
import { AGENT_UUID, type PolicyAttributeNames } from '../attribute-names';
import { isPathSegmentChar, isPathSegmentText, MAX_PATH_LENGTH, PATH_ALPHABET } from './spiffe-id';

/** One piece of a path segment: fixed text, or a placeholder filled at login. */
type Part = { literal: string } | { placeholder: string };
/** A template split at `/`: the leading `/` is implied, segments are never empty. */
export type ParsedTemplate = readonly (readonly Part[])[];

export type RenderResult = { ok: true; path: string } | { ok: false; reason: string };
export type TemplateRenderer = (attributes: Attributes, agentUuid: string) => RenderResult;

const PLACEHOLDER_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Parses `/web/{{aws_iid.ec2.instance.region}}/x`; problems describe the first fault per segment. */
export function parseTemplate(
  text: string,
): { ok: true; template: ParsedTemplate } | { ok: false; problems: string[] } {
  if (!text.startsWith('/')) return { ok: false, problems: ['must start with /'] };
  if (text.endsWith('/')) return { ok: false, problems: ['must not end with /'] };
  const problems: string[] = [];
  const segments = text
    .slice(1)
    .split('/')
    .map((segment) => {
      const parsed = parseSegment(segment);
      if (typeof parsed === 'string') problems.push(parsed);
      return typeof parsed === 'string' ? [] : parsed;
    });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, template: segments };
}

function parseSegment(segment: string): Part[] | string {
  if (segment === '') return 'must not have empty path segments (//)';
  if (segment === '.' || segment === '..') return `must not have a ${segment} path segment`;
  const parts: Part[] = [];
  let at = 0;
  while (at < segment.length) {
    const open = segment.indexOf('{{', at);
    const literal = segment.slice(at, open < 0 ? segment.length : open);
    if (!isPathSegmentText(literal)) {
      const bad = [...literal].find((char) => !isPathSegmentChar(char.charCodeAt(0)));
      return `character ${JSON.stringify(bad)} is not allowed in a SPIFFE ID path (${PATH_ALPHABET}); placeholders are {{name}}`;
    }
    if (literal) parts.push({ literal });
    if (open < 0) break;
    const close = segment.indexOf('}}', open + 2);
    if (close < 0) return `placeholder ${segment.slice(open)} is not closed with }}`;
    const name = segment.slice(open + 2, close);
    if (!PLACEHOLDER_NAME.test(name))
      return `placeholder {{${name}}} must name an attribute, e.g. {{aws_iid.ec2.instance.id}}`;
    parts.push({ placeholder: name });
    at = close + 2;
  }
  return parts;
}

/** Every problem with a template for one policy: syntax, then each placeholder's attribute. */
export function templateProblems(text: string, names: PolicyAttributeNames): string[] {
  const parsed = parseTemplate(text);
  if (!parsed.ok) return parsed.problems;
  const problems: string[] = [];
  for (const segment of parsed.template) {
    for (const part of segment) {
      if ('placeholder' in part) {
        const problem = names.checkTemplateAttribute(part.placeholder);
        if (problem) problems.push(problem);
      }
    }
  }
  return problems;
}

/**
 * Renders at login. A value outside the path alphabet, an attribute with no
 * or several values, or a segment that comes out as `.`/`..` is refused with a
 * reason naming the attribute: nothing is silently rewritten.
 */
export function compileTemplate(template: ParsedTemplate): TemplateRenderer {
  return (attributes, agentUuid) => {
    let path = '';
    for (const segment of template) {
      let rendered = '';
      for (const part of segment) {
        if ('literal' in part) {
          rendered += part.literal;
          continue;
        }
        const value = placeholderValue(part.placeholder, attributes, agentUuid);
        if (!value.ok) return value;
        rendered += value.text;
      }
      if (rendered === '.' || rendered === '..') {
        return {
          ok: false,
          reason: `spiffe_id: path segment ${describeSegment(segment)} renders as ${JSON.stringify(rendered)}`,
        };
      }
      path += `/${rendered}`;
    }
    if (path.length > MAX_PATH_LENGTH) {
      return { ok: false, reason: `spiffe_id: rendered path is longer than ${MAX_PATH_LENGTH} characters` };
    }
    return { ok: true, path };
  };
}

function placeholderValue(
  name: string,
  attributes: Attributes,
  agentUuid: string,
): { ok: true; text: string } | { ok: false; reason: string } {
  let value: unknown;
  if (name === AGENT_UUID) {
    value = agentUuid;
  } else {
    const values: unknown = attributes[name];
    if (!Array.isArray(values) || values.length === 0)
      return { ok: false, reason: `spiffe_id: attribute ${name} has no value` };
    if (values.length > 1)
      return { ok: false, reason: `spiffe_id: attribute ${name} has ${values.length} values, a path needs one` };
    value = values[0];
  }
  if (typeof value !== 'string' || value === '') return { ok: false, reason: `spiffe_id: ${name} is empty` };
  if (!isPathSegmentText(value)) {
    return {
      ok: false,
      reason: `spiffe_id: ${name} has characters outside the SPIFFE path alphabet (${PATH_ALPHABET})`,
    };
  }
  return { ok: true, text: value };
}

function describeSegment(segment: readonly Part[]): string {
  return segment.map((part) => ('literal' in part ? part.literal : `{{${part.placeholder}}}`)).join('');
}
