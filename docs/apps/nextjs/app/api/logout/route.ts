import { NextResponse } from "next/server";

export async function POST() {
  const resp = new NextResponse(null, { status: 303, headers: { Location: "/books" } });
  resp.cookies.delete("session");
  resp.cookies.delete("csrf");
  return resp;
}
