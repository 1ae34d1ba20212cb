import { AGENT_UUID, type PolicyAttributeNames } from '../attribute-names';
import { parseTemplate } from './template';

/**
 * Why a valid template can give two nodes one SPIFFE ID on purpose, or
 * undefined: it fills a placeholder with a value whoever runs a node can
 * choose (an EC2 tag, an STS session name, a VM or pod name; the catalog
 * says which), and no other placeholder names one node (an attribute the
 * catalog declares node-unique, or `{{agent.uuid}}`). Such a template lets a
 * node take the ID meant for another before it does; the database then
 * refuses the other one (409 `spiffe_id_in_use`), so the first to log in
 * wins. A warning, not an error: a policy whose rules pin those values
 * (an allow-list of tags, a tag only trusted people may set) can be right.
 */
export function templateCollisionWarning(text: string, names: PolicyAttributeNames): string | undefined {
  const parsed = parseTemplate(text);
  if (!parsed.ok) return undefined;
  const placeholders = parsed.template.flatMap((segment) =>
    segment.flatMap((part) => ('placeholder' in part ? [part.placeholder] : [])),
  );
  if (placeholders.includes(AGENT_UUID) || placeholders.some((name) => names.traitsOf(name).nodeUnique))
    return undefined;
  const chosen = [...new Set(placeholders.filter((name) => names.traitsOf(name).callerChosen))];
  if (chosen.length === 0) return undefined;
  const unique = names.nodeUniqueNames().map((name) => `{{${name}}}`);
  const fix =
    unique.length > 0
      ? `add {{${AGENT_UUID}}} or a node-unique attribute (${unique.join(', ')})`
      : `add {{${AGENT_UUID}}}`;
  return (
    `${chosen.map((name) => `{{${name}}}`).join(', ')} can be set to the same value on two nodes by whoever runs them, ` +
    `and nothing else in the template names one node: a node can take the SPIFFE ID meant for another, ` +
    `and the other is then refused (409 spiffe_id_in_use); ${fix}`
  );
}
