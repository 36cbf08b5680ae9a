import { createHash } from "node:crypto";
import { type NextRequest } from "next/server";
import { csrfFor, readSession } from "@/lib/auth";

// Multipart upload (the platform's FormData): names, sizes and digests of the files, for a logged-in user
// whose request carries the CSRF token in a header.
export async function POST(request: NextRequest) {
  const session = request.cookies.get("session")?.value;
  if (!readSession(session)) return Response.json({ error: "log in first" }, { status: 401 });
  if (request.headers.get("x-csrf-token") !== csrfFor(session!)) {
    return Response.json({ error: "CSRF token missing or wrong" }, { status: 403 });
  }
  const form = await request.formData();
  const out = [];
  for (const value of form.getAll("files")) {
    if (typeof value === "string") continue;
    const bytes = Buffer.from(await value.arrayBuffer());
    out.push({ name: value.name, type: value.type, size: bytes.length,
               sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  return Response.json(out, { status: 201 });
}
