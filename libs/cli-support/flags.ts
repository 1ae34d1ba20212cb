import { parseArgs } from 'node:util';

/** A flag as `node:util` parseArgs declares it; a `multiple` flag may be repeated (booleans too). */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export interface ReadFlags<Name extends string> {
  values: Partial<Record<Name, string | string[] | true>>;
  /** flags on the line, with or without a usable value (a bad one was reported already) */
  mentioned: Set<Name>;
  positionals: string[];
  problems: string[];
}

export interface ReadFlagsOptions {
  /** `refuse`: a positional is the problem `unexpected argument "x"` (commands that take none) */
  positionals: 'keep' | 'refuse';
}

/**
 * parseArgs in non-strict mode, with its tokens checked here: every mistake
 * is reported (not only the first), in the CLIs' words, instead of the
 * first one in parseArgs' words.
 */
export function readFlags<Spec extends Record<string, FlagSpec>>(
  args: string[],
  spec: Spec,
  options: ReadFlagsOptions,
): ReadFlags<Extract<keyof Spec, string>> {
  type Name = Extract<keyof Spec, string>;
  const { tokens } = parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true });
  const values: Partial<Record<Name, string | string[] | true>> = {};
  const mentioned = new Set<Name>();
  const positionals: string[] = [];
  const problems: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (options.positionals === 'keep') positionals.push(token.value);
      else problems.push(`unexpected argument ${JSON.stringify(token.value)}`);
      continue;
    }
    if (token.kind !== 'option') continue;
    const flag = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (flag === undefined) {
      problems.push(`unknown flag ${token.rawName}`);
      continue;
    }
    const name = token.name as Name;
    mentioned.add(name);
    const problem = addValue(values, name, flag, token);
    if (problem !== undefined) problems.push(problem);
  }
  return { values, mentioned, positionals, problems };
}

/** Records one flag's value; the problem with it, if any. */
function addValue<Name extends string>(
  values: Partial<Record<Name, string | string[] | true>>,
  name: Name,
  flag: FlagSpec,
  token: { rawName: string; value?: string | undefined; inlineValue?: boolean | undefined },
): string | undefined {
  if (!flag.multiple && values[name] !== undefined) return `${token.rawName} given more than once`;
  if (flag.type === 'boolean') {
    if (token.value !== undefined) return `${token.rawName} takes no value`;
    values[name] = true;
    return undefined;
  }
  const value = token.value;
  if (value === undefined || (value.startsWith('-') && !token.inlineValue)) {
    return `${token.rawName} needs a value (write --${name}=VALUE for one that starts with "-")`;
  }
  const previous = values[name];
  values[name] = flag.multiple ? [...(Array.isArray(previous) ? previous : []), value] : value;
  return undefined;
}
