import { type NextRequest } from "next/server";

// What the app was given, for telling an adapter's rewrite from the app's own behaviour.
export async function GET(request: NextRequest) {
  const url = request.nextUrl;
  return Response.json({
    path: url.pathname,
    query: [...url.searchParams.entries()],
    headers: [...request.headers.entries()],
    cookies: request.cookies.getAll().map((c) => [c.name, c.value]),
  });
}
