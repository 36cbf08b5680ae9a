import { NextResponse, type NextRequest } from "next/server";
import { checkPassword, csrfFor, makeSession } from "@/lib/auth";

// A form POST: on success a 303 to the account page with three cookies in one answer.
export async function POST(request: NextRequest) {
  const form = await request.formData();
  const user = String(form.get("username") ?? "");
  if (!checkPassword(user, String(form.get("password") ?? ""))) {
    return new NextResponse("Benutzer oder Passwort falsch", { status: 401 });
  }
  const session = makeSession(user);
  // A relative Location: the app does not know the public host name, and it does not have to.
  const resp = new NextResponse(null, { status: 303, headers: { Location: "/account" } });
  resp.cookies.set("session", session, { httpOnly: true, sameSite: "lax", path: "/", maxAge: 8 * 3600 });
  resp.cookies.set("csrf", csrfFor(session), { sameSite: "strict", path: "/", maxAge: 8 * 3600 });
  resp.cookies.set("theme", "dunkel", { path: "/account", maxAge: 30 * 86400 });
  return resp;
}
