import { Prisma, type PrismaClient } from './generated/client';

/** The tables whose lists filter by attestor, with their attestor-set column (leading a btree index). */
export const ATTESTOR_SET_COLUMNS = {
  agents: Prisma.raw('attestor_types'),
  audit_events: Prisma.raw('attestors'),
} as const;

/**
 * The distinct attestor sets in `table` that contain `attestor` (`{aws_iid}`,
 * `{aws_iid,k8s_psat}`, ...): a handful, whatever the number of rows.
 *
 * Why: "contains X, newest (or by id) first, LIMIT n" has no plan that is
 * good for every X. PostgreSQL walks the ordered index and filters, which
 * reads every row when X is rare or absent (2.2 s at 1 million agents), or
 * takes the GIN index and sorts every match, which is as bad when X is
 * common. Split by set, each part is an equality on the leading column of
 * a btree index ordered as the list is, so each reads at most n rows; the
 * sets are found by skipping through that index (a loose index scan, one
 * probe per set), since PostgreSQL has no skip scan before version 18.
 */
export async function attestorSetsContaining(
  prisma: PrismaClient,
  table: keyof typeof ATTESTOR_SET_COLUMNS,
  attestor: string,
): Promise<string[][]> {
  const rows = await prisma.$queryRaw<{ types: string[] }[]>(attestorSetsQuery(table, attestor));
  return rows.map((row) => row.types);
}

export function attestorSetsQuery(table: keyof typeof ATTESTOR_SET_COLUMNS, attestor: string): Prisma.Sql {
  const column = ATTESTOR_SET_COLUMNS[table];
  const from = Prisma.raw(table);
  return Prisma.sql`
    WITH RECURSIVE sets(types) AS (
      (SELECT ${column} FROM ${from} ORDER BY ${column} LIMIT 1)
      UNION ALL
      SELECT (SELECT ${column} FROM ${from} WHERE ${column} > sets.types ORDER BY ${column} LIMIT 1) FROM sets WHERE sets.types IS NOT NULL
    )
    SELECT types FROM sets WHERE types IS NOT NULL AND types @> ARRAY[${attestor}]::text[]`;
}

/** `branches` (each already ordered and limited) merged: `SELECT * FROM (b1 UNION ALL b2 ...) ORDER BY … LIMIT n`. */
export function unionOfBranches(branches: Prisma.Sql[], orderBy: Prisma.Sql, limit: number): Prisma.Sql {
  return Prisma.sql`SELECT * FROM (${Prisma.join(
    branches.map((branch) => Prisma.sql`(${branch})`),
    ' UNION ALL ',
  )}) branches ORDER BY ${orderBy} LIMIT ${limit}`;
}
