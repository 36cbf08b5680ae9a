<?php
// A small real PHP page: it sets two cookies, reads a POSTed form and the request's cookies.
setcookie('flavour', 'chocolate chip', ['path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
setcookie('visits', '1', ['path' => '/', 'expires' => time() + 3600]);
header('Content-Type: text/html; charset=utf-8');
$h = fn ($s) => htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8');
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    http_response_code(201);
    echo '<p>foo=' . $h($_POST['foo'] ?? '(none)') . '</p>';
    echo '<p>theme=' . $h($_COOKIE['theme'] ?? '(none)') . ' tz=' . $h($_COOKIE['tz'] ?? '(none)') . '</p>';
    echo '<p>https=' . $h($_SERVER['HTTP_X_FORWARDED_PROTO'] ?? '') . ' host=' . $h($_SERVER['HTTP_HOST'] ?? '') . '</p>';
    echo '<p>php=' . PHP_VERSION . ' λ</p>';
} else {
    echo '<form method="post"><input name="foo"><button>Send</button></form>';
}
