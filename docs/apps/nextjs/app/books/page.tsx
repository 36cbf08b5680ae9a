import { all, search } from "@/lib/catalogue";

// Server-side rendering on every request: the list depends on the query (?lang=de&lang=fr, repeated keys).
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Books({ searchParams }: Props) {
  const sp = await searchParams;
  const q = all(sp.q)[0];
  const langs = all(sp.lang);
  const rows = search(q, langs);
  return (
    <section>
      <h1 id="count">{`${rows.length} Bücher`}</h1>
      <table>
        <tbody>
          {rows.map((b) => (
            <tr key={b.id} data-id={b.id}>
              <td className="title">{b.title}</td>
              <td>{b.author}</td>
              <td className="year">{b.year}</td>
              <td>{b.lang}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
