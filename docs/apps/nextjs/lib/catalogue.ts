// The catalogue's data (30 public-domain classics in eleven languages) and its one query.
import books from "@/data/books.json";

export type Book = { id: number; title: string; author: string; year: number; lang: string };

export const BOOKS: Book[] = books.map((b, i) => ({ id: i + 1, ...b }));

export function search(q: string | undefined, langs: string[]): Book[] {
  const needle = (q ?? "").toLowerCase();
  return BOOKS.filter((b) => langs.length === 0 || langs.includes(b.lang))
    .filter((b) => !needle || b.title.toLowerCase().includes(needle) || b.author.toLowerCase().includes(needle))
    .sort((a, b) => a.year - b.year || a.id - b.id);
}

// searchParams give a string for one value and an array for repeated keys: always a list here.
export function all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
