<?php
// WordPress on Lambda: the database and the keys come from the function's environment (the keys must be the same
// on every instance: they sign the login cookies and nonces). Debian's wp-config.php loads this file.
define('DB_NAME', getenv('WORDPRESS_DB_NAME') ?: 'wordpress');
define('DB_USER', getenv('WORDPRESS_DB_USER') ?: 'wp');
define('DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD') ?: '');
define('DB_HOST', getenv('WORDPRESS_DB_HOST') ?: '127.0.0.1:3306');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_CONTENT_DIR', '/tmp/wp-content');
define('FS_METHOD', 'direct');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!getenv('WORDPRESS_KEYS')) {  // a fixed key in the image would let anyone forge logins
    http_response_code(500);
    exit("Set WORDPRESS_KEYS (a long random string, the same on every instance) in the function's environment.\n");
}
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
          'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $key) {
    define($key, hash('sha256', getenv('WORDPRESS_KEYS') . $key));
}
