import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import GithubSlugger from 'github-slugger';
import { Lexer, type Token, type Tokens } from 'marked';
import { PROBLEMS } from '@libs/contracts/problem';

/**
 * The documentation is the repository's own: no tracked file points at
 * material outside it, every relative Markdown link (and its #anchor)
 * resolves, and the troubleshooting guide covers every problem code.
 */

const ROOT = join(__dirname, '..', '..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0')
  .filter((path) => path && existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isFile());
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// Spelt in pieces, so that this file does not match itself.
const OUTSIDE = new RegExp([['\\.\\.', 'shared'].join('/'), ['shared', 'spec'].join('/')].join('|'));

interface Link {
  from: string;
  href: string;
}

/** every link token of a Markdown document, code spans and blocks excluded (marked's lexer leaves them out) */
function links(path: string): Link[] {
  const found: Link[] = [];
  const walk = (tokens: Token[]) => {
    for (const token of tokens) {
      if (token.type === 'link') found.push({ from: path, href: (token as Tokens.Link).href });
      const nested = token as {
        tokens?: Token[];
        items?: { tokens: Token[] }[];
        rows?: { tokens: Token[] }[][];
        header?: { tokens: Token[] }[];
      };
      if (nested.tokens) walk(nested.tokens);
      for (const item of nested.items ?? []) walk(item.tokens);
      for (const cell of [...(nested.header ?? []), ...(nested.rows ?? []).flat()]) walk(cell.tokens);
    }
  };
  walk(Lexer.lex(read(path)));
  return found;
}

/** the anchors GitHub gives a Markdown file's headings */
function anchors(path: string): Set<string> {
  const slugger = new GithubSlugger();
  return new Set(
    Lexer.lex(read(path))
      .filter((token): token is Tokens.Heading => token.type === 'heading')
      .map((heading) => slugger.slug(heading.text.replace(/`/g, ''))),
  );
}

const markdown = tracked.filter((path) => path.endsWith('.md'));
const documentation = markdown.filter(
  (path) => path.startsWith('docs/') || path === 'README.md' || path.endsWith('/README.md'),
);

describe('the documentation', () => {
  it('has no tracked file that points outside the repository', () => {
    const pointing = tracked.filter((path) => {
      const text = read(path);
      return !text.includes('\0') && OUTSIDE.test(text);
    });
    expect(pointing).toEqual([]);
  });

  it('has the pages the index promises', () => {
    expect(documentation).toEqual(
      expect.arrayContaining([
        'docs/README.md',
        'docs/reference/api.md',
        'docs/reference/attestors.md',
        'docs/reference/policy.md',
        'docs/operations/troubleshooting.md',
        'docs/operations/upgrade.md',
        'docs/operations/oidc-federation.md',
        'docs/operations/kubernetes.md',
      ]),
    );
  });

  it('resolves every relative link in docs/ and the READMEs, with its anchor', () => {
    const broken: string[] = [];
    for (const { from, href } of documentation.flatMap(links)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:
      const [file = '', anchor] = href.split('#');
      const target = file === '' ? from : relative(ROOT, join(ROOT, dirname(from), decodeURIComponent(file)));
      if (!existsSync(join(ROOT, target))) {
        broken.push(`${from}: ${href} (no ${target})`);
        continue;
      }
      if (anchor && target.endsWith('.md') && !anchors(target).has(anchor))
        broken.push(`${from}: ${href} (no heading #${anchor} in ${target})`);
    }
    expect(broken).toEqual([]);
  });

  it('links every page under docs/ from the index', () => {
    const linked = new Set(links('docs/README.md').map(({ href }) => join('docs', href.split('#')[0]!)));
    const unlinked = documentation.filter(
      (path) => path.startsWith('docs/') && path !== 'docs/README.md' && !linked.has(path),
    );
    expect(unlinked).toEqual([]);
  });

  it('tells what to do about every problem code', () => {
    const headings = Lexer.lex(read('docs/operations/troubleshooting.md'))
      .filter((token): token is Tokens.Heading => token.type === 'heading' && token.depth === 2)
      .map((heading) => heading.text);
    for (const [code, { status }] of Object.entries(PROBLEMS)) expect(headings).toContain(`\`${code}\` (${status})`);
  });
});
