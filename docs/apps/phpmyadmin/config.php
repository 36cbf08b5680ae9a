<?php
// phpMyAdmin on Lambda: included by /etc/phpmyadmin/conf.d/reweb.php (Debian's config.inc.php reads conf.d last,
// so these settings win). The code and this file are read-only; everything phpMyAdmin writes goes under /tmp.
$cfg['Servers'][1]['auth_type'] = 'cookie';
$cfg['Servers'][1]['host'] = getenv('PMA_DB_HOST') ?: '127.0.0.1';
$cfg['Servers'][1]['port'] = getenv('PMA_DB_PORT') ?: '3306';
$cfg['Servers'][1]['connect_type'] = 'tcp';
$cfg['Servers'][1]['AllowNoPassword'] = false;
// The cookie-encryption key must be the same on every instance (else a login made on one is unreadable on the next)
// and exactly 32 bytes: from the environment on Lambda (a secret), or the one the installer generated for the suite.
$cfg['blowfish_secret'] = getenv('PMA_BLOWFISH_SECRET') ?: (include __DIR__ . '/secret.php');
// Twig's compiled templates and upload/export scratch files; PHP sessions hold the login (per instance, see docs).
$cfg['TempDir'] = '/tmp/phpmyadmin/tmp';
$cfg['SessionSavePath'] = '/tmp/phpmyadmin/sessions';
$cfg['UploadDir'] = '';
$cfg['SaveDir'] = '';
// No calls to phpmyadmin.net from a function and no nagging about the missing configuration storage database.
$cfg['VersionCheck'] = false;
$cfg['SendErrorReports'] = 'never';
$cfg['PmaNoRelation_DisableWarning'] = true;
$cfg['ZipDump'] = true;
$cfg['GZipDump'] = true;
