/**
 * Docs hygiene: every relative link in the docs resolves to a file of this repository (and every
 * `#anchor` to a heading of it, by GitHub's slug rules); no link or named document points outside
 * the repository; README links every doc. Links to http(s) URLs are allowed and never fetched.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

const walk = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const path = join(dir, e.name);
  return e.isDirectory() ? walk(path) : [path];
}) : []);
const rel = (path: string): string => relative(root, path).split(sep).join('/');

/** The documents checked: README.md, docs/, cluster/README.md, the samples' READMEs, and deploy/. */
const docFiles = (): string[] => [
  join(root, 'README.md'),
  ...walk(join(root, 'docs')).filter((f) => f.endsWith('.md')),
  join(root, 'cluster', 'README.md'),
  ...walk(join(root, 'samples')).filter((f) => f.endsWith('README.md')),
  ...walk(join(root, 'deploy')).filter((f) => f.endsWith('.md')),
].filter((f) => existsSync(f)).sort();

/** Text outside fenced code blocks, and with inline code spans blanked (links there are not links). */
function prose(text: string): string {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) { fenced = !fenced; return ''; }
    return fenced ? '' : line.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length));
  }).join('\n');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingSlugs(text: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = (m[1] as string).replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '').toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

interface Link { file: string; line: number; target: string }

function linksOf(file: string): Link[] {
  const text = prose(readFileSync(file, 'utf8'));
  const links: Link[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line: i + 1, target: m[1] as string });
    const ref = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(\s|$)/.exec(line);
    if (ref) links.push({ file, line: i + 1, target: ref[1] as string });
  });
  return links;
}

/** What is wrong with one link, if anything. */
function checkLink(link: Link): string | undefined {
  const at = `${rel(link.file)}:${link.line}: ${link.target}`;
  if (/^https?:\/\//i.test(link.target)) return undefined; // allowed, never fetched
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return `${at}: only http(s) links may leave the repository`;
  if (link.target.startsWith('/')) return `${at}: an absolute path is outside the repository (link relative to the file)`;
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(pathPart);
  const target = path === '' ? link.file : resolve(dirname(link.file), path);
  if (relative(root, target).startsWith('..')) return `${at}: points outside the repository`;
  if (!existsSync(target)) return `${at}: no such file in the repository`;
  if (anchor !== undefined) {
    if (statSync(target).isDirectory() || !target.endsWith('.md')) return `${at}: an anchor into something that is not a markdown file`;
    if (!headingSlugs(readFileSync(target, 'utf8')).has(anchor)) return `${at}: ${rel(target)} has no heading #${anchor}`;
  }
  return undefined;
}

/** Named paths that are not in the repository: the authors' machines, and documents that live elsewhere. */
function outsideMentions(file: string): string[] {
  const problems: string[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    const at = `${rel(file)}:${i + 1}`;
    for (const m of line.matchAll(/(?:^|[\s(`'"])(\/work\/\S*|\.\.\/shared\S*|~\/work\S*)/g)) problems.push(`${at}: names ${m[1]}, outside the repository`);
    // A markdown document named in the text (`docs/policy.md`, `DESIGN.md`) must be one of ours.
    // Links are left out: the link check resolves them from their own file.
    const text = line.replace(/!?\[[^\]]*\]\([^)]*\)/g, ' ');
    for (const m of text.matchAll(/(?<![\w/.:-])((?:\.\.?\/)*[\w-]+(?:\/[\w.-]+)*\.md)\b/g)) {
      const name = m[1] as string;
      const candidates = [resolve(dirname(file), name), resolve(root, name)];
      if (!candidates.some((c) => !relative(root, c).startsWith('..') && existsSync(c))) problems.push(`${at}: names ${name}, which is not in the repository`);
    }
  });
  return problems;
}

describe('docs hygiene', () => {
  it('docs links - every relative link resolves to a file of the repository, every anchor to a heading', () => {
    const files = docFiles();
    expect(files.length).toBeGreaterThan(15);
    const problems = files.flatMap(linksOf).map(checkLink).filter((p): p is string => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('docs links - the docs name no path outside the repository', () => {
    const deployFiles = walk(join(root, 'deploy'));
    expect([...docFiles(), ...deployFiles.filter((f) => !f.endsWith('.md'))].flatMap(outsideMentions)).toEqual([]);
  });

  it('docs links - README links every doc under docs/', () => {
    const linked = new Set(linksOf(join(root, 'README.md')).map((l) => resolve(root, l.target.split('#')[0] as string)));
    const missing = walk(join(root, 'docs')).filter((f) => f.endsWith('.md') && !linked.has(f)).map(rel);
    expect(missing).toEqual([]);
  });

  it('docs links - the checker catches a broken link, a missing anchor, an outside path and an absolute link', () => {
    const readme = join(root, 'README.md');
    const check = (target: string) => checkLink({ file: readme, line: 1, target });
    expect(check('docs/policy.md')).toBeUndefined();
    expect(check('docs/policy.md#rate-limits')).toBeUndefined();
    expect(check('https://nats.io')).toBeUndefined();
    expect(check('docs/nope.md')).toMatch(/no such file/);
    expect(check('docs/policy.md#no-such-heading')).toMatch(/has no heading/);
    expect(check('../shared/DESIGN.md')).toMatch(/outside the repository/);
    expect(check('/work/shared/STYLE.md')).toMatch(/absolute path/);
    expect(check('file:///etc/passwd')).toMatch(/only http/);
    expect([...headingSlugs('# A b\n## Gateway overhead — `npm run bench:overhead`\n## A b\n## The `models` field and `llmConfig`\n')])
      .toEqual(['a-b', 'gateway-overhead--npm-run-benchoverhead', 'a-b-1', 'the-models-field-and-llmconfig']);
  });
});
