export default function Login() {
  return (
    <form method="post" action="/api/login">
      <label>Benutzer</label> <input name="username" />
      <label>Passwort</label> <input name="password" type="password" />
      <button>Anmelden</button>
    </form>
  );
}
