import { Suspense } from "react";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

// Streaming server-side rendering: the page's shell (with the fallback) is sent at once; the part inside
// <Suspense> follows in the same response when its data is there. Here the "data" is a file that the reader of
// the page creates once it has seen the shell: if the shell did not reach it early (a buffering layer), the file
// never comes in time and the part says so.
export const dynamic = "force-dynamic";

const DATA = process.env.CATALOGUE_DATA ?? "/tmp/nextjs";

async function Release({ token, wait }: { token: string; wait: number }) {
  const flag = `${DATA}/release-${token}`;
  const deadline = Date.now() + wait * 1000;
  while (!existsSync(flag) && Date.now() < deadline) await sleep(20);
  return <p id="outcome">{existsSync(flag) ? "stream released" : "stream not released"}</p>;
}

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function Live({ searchParams }: Props) {
  const sp = await searchParams;
  const token = String(sp.token ?? "none").replace(/[^a-zA-Z0-9]/g, "");
  const wait = Math.min(Number(sp.wait ?? 3) || 3, 20);
  return (
    <section>
      <h1>Live</h1>
      <Suspense fallback={<p id="fallback">wird geladen…</p>}>
        <Release token={token} wait={wait} />
      </Suspense>
    </section>
  );
}
