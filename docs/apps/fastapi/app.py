"""Bücherei: a small library catalogue on FastAPI, written the way such an app is usually written.

Real data (30 books in 11 languages, books.json beside this file) in SQLite under /tmp; a login form (OAuth2 password
form fields) that sets three cookies; signed, stateless sessions (any instance accepts them, as on Lambda); a
CSRF token bound to the session for every form; notes on books; uploads of any file (python-multipart) kept under
/tmp with their original, possibly non-ASCII name; downloads through FileResponse (HEAD, Range, ETag); a CSV
export through StreamingResponse; a JSON API with repeated query keys and an OAuth2 bearer token; gzip by
GZipMiddleware. The kit folder is read-only: everything the app writes goes to LIBRARY_DATA (/tmp/fastapi).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import hmac
import html
import io
import json
import mimetypes
import os
import sqlite3
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Cookie, Depends, FastAPI, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import OAuth2PasswordRequestForm
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("LIBRARY_DATA", "/tmp/fastapi"))
MEDIA = Path(os.environ.get("LIBRARY_MEDIA", HERE / "media"))  # read-only binaries shipped with the image
# Signs sessions: the same secret on every instance, so a session made on one instance is good on the next.
SECRET = os.environ.get("LIBRARY_SECRET", "change-me").encode()
SESSION_SECONDS = 8 * 3600
USERS = json.loads((HERE / "users.json").read_text())


# ------------------------------------------------------------------------------------------------------- database
def db() -> sqlite3.Connection:
    con = sqlite3.connect(DATA / "library.db")
    con.row_factory = sqlite3.Row
    return con


def init_db() -> None:
    """Load the seed into a fresh database when /tmp is empty (a new instance); keep it when it is not."""
    (DATA / "uploads").mkdir(parents=True, exist_ok=True)
    if (DATA / "library.db").exists():
        return
    with db() as con:
        con.executescript(
            """
            create table books (id integer primary key, title text, author text, year integer, lang text);
            create table notes (id integer primary key, book_id integer, user text, text text, at real);
            create table files (id integer primary key, name text, type text, size integer, sha256 text,
                                user text, at real);
            """
        )
        books = json.loads((HERE / "books.json").read_text())
        con.executemany(
            "insert into books (title, author, year, lang) values (:title, :author, :year, :lang)", books
        )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    init_db()
    yield


app = FastAPI(title="Bücherei", lifespan=lifespan)
app.add_middleware(GZipMiddleware, minimum_size=500)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


# ----------------------------------------------------------------------------------------------- sessions, CSRF
def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _sign(payload: str) -> str:
    return _b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())


def make_session(user: str) -> str:
    payload = _b64(json.dumps({"u": user, "exp": int(time.time()) + SESSION_SECONDS}).encode())
    return f"{payload}.{_sign(payload)}"


def read_session(value: str | None) -> str | None:
    if not value or "." not in value:
        return None
    payload, sig = value.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(payload)):
        return None
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data["u"] if data["exp"] > time.time() else None


def csrf_for(session: str) -> str:
    """The CSRF token is derived from the session: a token from another session (or none) is refused."""
    return _sign("csrf:" + session)[:32]


def check_password(user: str, password: str) -> bool:
    u = USERS.get(user)
    if not u:
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(u["salt"]), u["iterations"]).hex()
    return hmac.compare_digest(got, u["pbkdf2_sha256"])


def current_user(session: Annotated[str | None, Cookie()] = None) -> str | None:
    return read_session(session)


def bearer_user(authorization: Annotated[str | None, Header()] = None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    user = read_session(token) if scheme.lower() == "bearer" else None
    if not user:
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return user


def require_csrf(session: str | None, token: str | None) -> str:
    user = read_session(session)
    if not user:
        raise HTTPException(401, "log in first")
    if not token or not hmac.compare_digest(token, csrf_for(session or "")):
        raise HTTPException(403, "CSRF token missing or wrong")
    return user


# -------------------------------------------------------------------------------------------------------- pages
def page(title: str, body: str, user: str | None, status: int = 200) -> HTMLResponse:
    nav = (
        f'<span>{html.escape(USERS[user]["name"])}</span> <a href="/files">Dateien</a> '
        '<form class="inline" method="post" action="/logout"><button>Abmelden</button></form>'
        if user
        else '<a href="/login">Anmelden</a>'
    )
    doc = f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>{html.escape(title)} · Bücherei</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><header><h1><a href="/books">Bücherei</a></h1><nav>{nav}</nav></header>
<main><h2>{html.escape(title)}</h2>{body}</main>
<footer>Public-domain classics in eleven languages. <a href="/export.csv">CSV</a></footer></body></html>"""
    return HTMLResponse(doc, status)


def search(q: str | None, langs: list[str], authors: list[str]) -> list[sqlite3.Row]:
    sql, args = "select * from books where 1=1", []
    if q:
        sql += " and (title like ? or author like ?)"
        args += [f"%{q}%", f"%{q}%"]
    if langs:
        sql += f" and lang in ({','.join('?' * len(langs))})"
        args += langs
    if authors:
        sql += f" and author in ({','.join('?' * len(authors))})"
        args += authors
    with db() as con:
        return con.execute(sql + " order by year, id", args).fetchall()


@app.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/books")


@app.api_route("/books", methods=["GET", "HEAD"], response_class=HTMLResponse)
def books(
    user: Annotated[str | None, Depends(current_user)],
    q: str | None = None,
    lang: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    author: Annotated[list[str], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    rows = search(q, lang, author)
    body = "".join(
        f'<tr><td><a href="/books/{r["id"]}">{html.escape(r["title"])}</a></td><td>{html.escape(r["author"])}</td>'
        f'<td class="year">{r["year"]}</td><td>{r["lang"]}</td></tr>'
        for r in rows
    )
    form = (
        f'<form method="get" action="/books"><input type="text" name="q" value="{html.escape(q or "")}">'
        "<button>Suchen</button></form>"
    )
    return page(f"{len(rows)} Bücher", f"{form}<table><tr><th>Titel</th><th>Autor</th><th>Jahr</th><th>Sprache</th>"
                f"</tr>{body}</table>", user)


@app.get("/books/{book_id}", response_class=HTMLResponse)
def book(book_id: int, user: Annotated[str | None, Depends(current_user)],
         session: Annotated[str | None, Cookie()] = None) -> HTMLResponse:
    with db() as con:
        b = con.execute("select * from books where id = ?", (book_id,)).fetchone()
        notes = con.execute("select * from notes where book_id = ? order by id", (book_id,)).fetchall()
    if not b:
        return page("Nicht gefunden", "<p>Dieses Buch gibt es hier nicht.</p>", user, 404)
    items = "".join(f"<li>{html.escape(n['text'])} <small>({html.escape(n['user'])})</small></li>" for n in notes)
    form = (
        f'<form method="post" action="/books/{book_id}/notes"><input type="hidden" name="csrf" '
        f'value="{csrf_for(session or "")}"><label>Notiz</label><textarea name="text"></textarea>'
        "<button>Speichern</button></form>"
        if user
        else ""
    )
    return page(b["title"], f"<p>{html.escape(b['author'])}, {b['year']}</p><ul class=\"notes\" id=\"notes\">"
                f"{items}</ul>{form}", user)


@app.post("/books/{book_id}/notes")
def add_note(book_id: int, text: Annotated[str, Form()], csrf: Annotated[str | None, Form()] = None,
             session: Annotated[str | None, Cookie()] = None) -> RedirectResponse:
    user = require_csrf(session, csrf)
    with db() as con:
        con.execute("insert into notes (book_id, user, text, at) values (?, ?, ?, ?)",
                    (book_id, user, text, time.time()))
    return RedirectResponse(f"/books/{book_id}#notes", status_code=303)


# -------------------------------------------------------------------------------------------------------- login
@app.get("/login", response_class=HTMLResponse)
def login_form(user: Annotated[str | None, Depends(current_user)], next: str = "/books") -> HTMLResponse:
    return page("Anmelden", f'<form method="post" action="/login?next={html.escape(next)}">'
                '<label>Benutzer</label><input type="text" name="username">'
                '<label>Passwort</label><input type="password" name="password"><button>Anmelden</button></form>',
                user)


@app.post("/login")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], next: str = "/books") -> HTMLResponse:
    if not check_password(form.username, form.password):
        return page("Anmelden", '<p class="flash">Benutzer oder Passwort falsch.</p>', None, 401)
    if not next.startswith("/") or next.startswith("//"):
        next = "/books"  # no open redirect
    session = make_session(form.username)
    resp = RedirectResponse(next, status_code=303)
    # Three cookies in one answer: an adapter that folds Set-Cookie into one header loses two of them.
    resp.set_cookie("session", session, max_age=SESSION_SECONDS, httponly=True, samesite="lax")
    resp.set_cookie("csrftoken", csrf_for(session), max_age=SESSION_SECONDS, samesite="strict")
    resp.set_cookie("last_user", form.username, max_age=30 * 86400, path="/login")
    return resp


@app.post("/logout")
def logout() -> RedirectResponse:
    resp = RedirectResponse("/books", status_code=303)
    resp.delete_cookie("session")
    resp.delete_cookie("csrftoken")
    return resp


@app.post("/token")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> JSONResponse:
    """OAuth2 password flow for API clients: the same signed session, as a bearer token."""
    if not check_password(form.username, form.password):
        raise HTTPException(400, "Incorrect username or password")
    return JSONResponse({"access_token": make_session(form.username), "token_type": "bearer"})


# ---------------------------------------------------------------------------------------------------------- API
@app.get("/api/books")
def api_books(
    q: str | None = None,
    lang: Annotated[list[str], Query()] = [],  # noqa: B006
    author: Annotated[list[str], Query()] = [],  # noqa: B006
    field: Annotated[list[str], Query()] = [],  # noqa: B006
) -> list[dict[str, object]]:
    rows = [dict(r) for r in search(q, lang, author)]
    return [{k: r[k] for k in field} for r in rows] if field else rows


@app.get("/api/me")
def me(user: Annotated[str, Depends(bearer_user)]) -> dict[str, str]:
    return {"user": user, "name": USERS[user]["name"]}


@app.get("/api/echo")
def echo(request: Request) -> dict[str, object]:
    """What the app was given: for telling an adapter's rewrite from the app's own behaviour."""
    return {
        "method": request.method,
        "path": request.url.path,
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query_string": request.scope["query_string"].decode("latin-1"),
        "query": [[k, v] for k, v in request.query_params.multi_items()],
        "headers": [[k, v] for k, v in request.headers.items()],
        "url": str(request.url),
    }


# -------------------------------------------------------------------------------------------------------- files
def _safe_name(name: str) -> str:
    """Keep the user's name (non-ASCII included), only not as a path."""
    name = unicodedata.normalize("NFC", name).replace("/", "_").replace("\\", "_").strip() or "unnamed"
    return name[:200]


@app.post("/files", status_code=201)
async def upload(
    files: list[UploadFile],
    csrf: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie()] = None,
) -> JSONResponse:
    user = require_csrf(session, csrf or x_csrf_token)
    out = []
    with db() as con:
        for f in files:
            data = await f.read()
            digest = hashlib.sha256(data).hexdigest()
            (DATA / "uploads" / digest).write_bytes(data)
            name = _safe_name(f.filename or "")
            ctype = f.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            cur = con.execute(
                "insert into files (name, type, size, sha256, user, at) values (?, ?, ?, ?, ?, ?)",
                (name, ctype, len(data), digest, user, time.time()),
            )
            out.append({"id": cur.lastrowid, "name": name, "type": ctype, "size": len(data), "sha256": digest})
    return JSONResponse(out, 201, headers={"Location": f"/files/{out[-1]['id']}"})


@app.get("/files", response_class=HTMLResponse)
def list_files(user: Annotated[str | None, Depends(current_user)]) -> HTMLResponse:
    if not user:
        return RedirectResponse("/login?next=/files", status_code=303)  # type: ignore[return-value]
    with db() as con:
        rows = con.execute("select * from files order by id").fetchall()
    items = "".join(f'<li><a href="/files/{r["id"]}">{html.escape(r["name"])}</a> ({r["size"]} B)</li>' for r in rows)
    return page("Dateien", f"<ul>{items}</ul>", user)


@app.api_route("/files/{file_id}", methods=["GET", "HEAD"])
def download(file_id: int, user: Annotated[str | None, Depends(current_user)]) -> FileResponse:
    if not user:
        raise HTTPException(401, "log in first")
    with db() as con:
        r = con.execute("select * from files where id = ?", (file_id,)).fetchone()
    if not r:
        raise HTTPException(404, "no such file")
    # FileResponse: Content-Disposition with filename*=utf-8'' for the non-ASCII name, ETag, HEAD and Range.
    return FileResponse(DATA / "uploads" / r["sha256"], media_type=r["type"], filename=r["name"])


@app.api_route("/media/{name}", methods=["GET", "HEAD"])
def media(name: str) -> FileResponse:
    """Binaries shipped in the image (the cover picture, a 1 MB archive), served with Range support."""
    allowed = {"cover.png": "image/png", "archive.bin": "application/octet-stream"}
    if name not in allowed:
        raise HTTPException(404, "no such file")
    src = MEDIA / ("test.png" if name == "cover.png" else "random.bin")
    return FileResponse(src, media_type=allowed[name])


# ------------------------------------------------------------------------------------------------------ streams
@app.get("/export.csv")
def export(lang: Annotated[list[str], Query()] = []) -> StreamingResponse:  # noqa: B006
    rows = search(None, lang, [])

    def gen() -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "title", "author", "year", "lang"])
        yield buf.getvalue()
        for r in rows:  # one chunk per row: uvicorn sends it chunked
            buf.seek(0)
            buf.truncate()
            w.writerow([r["id"], r["title"], r["author"], r["year"], r["lang"]])
            yield buf.getvalue()

    return StreamingResponse(gen(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename*=utf-8''b%C3%BCcher.csv"})


@app.get("/live")
async def live(token: str, wait: float = 5.0) -> StreamingResponse:
    """A progress stream: the first line goes out at once, the rest when LIBRARY_DATA/release-<token> appears.

    Whoever reads the stream can create that file after the first line has reached them: the answer then says
    "released". When a buffering layer holds the first line back, the file never comes in time and it says
    "not released" (after `wait` seconds): which of the two a client sees shows whether the stream was streamed.
    """
    if not token.isalnum():
        raise HTTPException(400, "token must be alphanumeric")
    flag = DATA / f"release-{token}"

    async def gen() -> AsyncIterator[bytes]:
        yield b"started\n"
        deadline = time.monotonic() + wait
        while not flag.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        yield b"released\n" if flag.exists() else b"not released\n"
        yield b"end\n"

    return StreamingResponse(gen(), media_type="text/plain; charset=utf-8",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
