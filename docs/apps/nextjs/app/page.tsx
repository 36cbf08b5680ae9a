// Static: prerendered at build time and served from the build output.
export default function Home() {
  return (
    <section>
      <h1>Willkommen in der Bücherei</h1>
      <p>Dreißig Klassiker in elf Sprachen. Прочтите их все.</p>
    </section>
  );
}
