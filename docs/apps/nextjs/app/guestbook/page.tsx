import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { redirect } from "next/navigation";

// A Server Action behind a plain HTML form (it works without JavaScript). Next.js refuses a Server Action
// whose Origin header does not match the Host (or X-Forwarded-Host) it was given: its CSRF protection, and the
// place where an adapter that rewrites Host breaks every form.
export const dynamic = "force-dynamic";

const FILE = `${process.env.CATALOGUE_DATA ?? "/tmp/nextjs"}/guestbook.json`;

function entries(): string[] {
  return existsSync(FILE) ? JSON.parse(readFileSync(FILE, "utf8")) : [];
}

async function sign(form: FormData) {
  "use server";
  const text = String(form.get("text") ?? "").trim();
  if (text) writeFileSync(FILE, JSON.stringify([...entries(), text]));
  redirect("/guestbook");
}

export default function Guestbook() {
  return (
    <section>
      <h1>Gästebuch</h1>
      <ul id="entries">
        {entries().map((e, i) => (
          <li key={i}>{e}</li>
        ))}
      </ul>
      <form action={sign}>
        <input name="text" />
        <button>Eintragen</button>
      </form>
    </section>
  );
}
