import type { ReactNode } from "react";
import "./globals.css";

export const metadata = { title: "Bücherei (Next.js)" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="de">
      <body>
        <header>
          <a href="/books">Bücherei</a> · <a href="/live">Live</a> · <a href="/guestbook">Gästebuch</a> ·{" "}
          <a href="/account">Konto</a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
