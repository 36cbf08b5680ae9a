// Sessions are signed and stateless (an HMAC of user and expiry): any Lambda instance accepts a session that
// another one made, since they share the secret. The CSRF token is derived from the session.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

const SECRET = process.env.CATALOGUE_SECRET ?? "change-me";
// sha256 of the demo password; a real app keeps a proper password hash in its user store.
const USERS: Record<string, { sha256: string; name: string }> = {
  admin: { sha256: "610e700a9a03a853e24e41068053019614e41381ae204caf20255bd20fd09628", name: "Ada Åström" },
};

const b64 = (b: Buffer) => b.toString("base64url");
const sign = (s: string) => b64(createHmac("sha256", SECRET).update(s).digest());

export function checkPassword(user: string, password: string): boolean {
  const u = USERS[user];
  if (!u) return false;
  const got = Buffer.from(createHash("sha256").update(password).digest("hex"));
  return got.length === u.sha256.length && timingSafeEqual(got, Buffer.from(u.sha256));
}

export function makeSession(user: string): string {
  const payload = b64(Buffer.from(JSON.stringify({ u: user, exp: Date.now() + 8 * 3600 * 1000 })));
  return `${payload}.${sign(payload)}`;
}

export function readSession(value: string | undefined): string | null {
  if (!value || !value.includes(".")) return null;
  const [payload, sig] = value.split(".", 2);
  if (sign(payload) !== sig) return null;
  const data = JSON.parse(Buffer.from(payload, "base64url").toString());
  return data.exp > Date.now() ? data.u : null;
}

export const csrfFor = (session: string) => sign("csrf:" + session).slice(0, 32);
export const displayName = (user: string) => USERS[user]?.name ?? user;
