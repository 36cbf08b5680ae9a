import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { csrfFor, displayName, readSession } from "@/lib/auth";

export const dynamic = "force-dynamic";

export default async function Account() {
  const jar = await cookies();
  const session = jar.get("session")?.value;
  const user = readSession(session);
  if (!user) redirect("/login?next=/account"); // 307 from a server component
  return (
    <section>
      <h1>Angemeldet als {displayName(user)}</h1>
      <p id="csrf" data-token={csrfFor(session!)}>
        Theme: {jar.get("theme")?.value ?? "-"}
      </p>
      <form method="post" action="/api/logout">
        <button>Abmelden</button>
      </form>
    </section>
  );
}
