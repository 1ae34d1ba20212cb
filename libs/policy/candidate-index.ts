import type { CompiledPolicy } from './compile-policy';

/**
 * The most answers one version keeps. An answer depends only on which of the
 * version's attestor types a login provides, so a catalog of n types has at
 * most 2^n of them (32 for the built-in five); the bound matters only for a
 * catalog far larger than any shipped.
 */
const MAX_REMEMBERED_ANSWERS = 1024;

interface AttestorSetGroup {
  types: readonly string[];
  /** document positions of the policies requiring exactly this set of types */
  positions: readonly number[];
}

/**
 * `candidatesFor` of one version: the policies grouped by the set of
 * attestor types they require (a handful of groups however many policies),
 * and each answer remembered by the provided types that matter to it. A
 * login then costs a lookup, where reading every policy cost time linear
 * in their number (1,000 policies: about 3 ms per login).
 */
export function candidateIndex(
  policies: readonly CompiledPolicy[],
): (providedMethods: readonly string[]) => readonly CompiledPolicy[] {
  const groups = groupByAttestorSet(policies);
  const known = new Set(groups.flatMap((group) => group.types));
  const answers = new Map<string, readonly CompiledPolicy[]>();
  return (providedMethods) => {
    // types no policy requires change no answer: leave them out of the key
    const provided = [...new Set(providedMethods.filter((type) => known.has(type)))].sort();
    const key = provided.join('\u0000');
    let answer = answers.get(key);
    if (!answer) {
      answer = candidatesAmong(groups, new Set(provided), policies);
      if (answers.size >= MAX_REMEMBERED_ANSWERS) answers.clear();
      answers.set(key, answer);
    }
    return answer;
  };
}

function groupByAttestorSet(policies: readonly CompiledPolicy[]): AttestorSetGroup[] {
  const groups = new Map<string, { types: string[]; positions: number[] }>();
  policies.forEach((policy, position) => {
    const types = [...new Set(policy.requiredTypes)].sort();
    const key = types.join('\u0000');
    const group = groups.get(key) ?? { types, positions: [] };
    group.positions.push(position);
    groups.set(key, group);
  });
  return [...groups.values()];
}

function candidatesAmong(
  groups: readonly AttestorSetGroup[],
  provided: ReadonlySet<string>,
  policies: readonly CompiledPolicy[],
): readonly CompiledPolicy[] {
  const positions = groups
    .filter((group) => group.types.every((type) => provided.has(type)))
    .flatMap((group) => group.positions)
    .sort((a, b) => a - b);
  return Object.freeze(positions.map((position) => policies[position]!));
}
