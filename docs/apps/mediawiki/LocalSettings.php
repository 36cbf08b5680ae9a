<?php
// MediaWiki 1.39 on Lambda (Debian's package; /etc/mediawiki/LocalSettings.php links here). The code and this file
// are read-only; the wiki's SQLite files, uploads and caches live under /tmp/mediawiki, copied from the seed the
// installer made at build time (tests/apps/install.d/mediawiki.sh) on every cold start.
if ( !defined( 'MEDIAWIKI' ) ) {
	exit;
}
require_once "$IP/includes/PlatformSettings.php";
$kit = getenv( 'MW_KIT' ) ?: '/opt/reweb-apps/mediawiki';
$run = getenv( 'MW_RUN_DIR' ) ?: '/tmp/mediawiki';

$wgSitename = 'Lambda Wiki';
$wgMetaNamespace = 'Lambda_Wiki';
// The public origin (https://wiki.example.com), as MediaWiki wants it set. Without MW_SERVER, MediaWiki derives it
// from each request's Host and X-Forwarded-Proto and assumes the default port of that scheme: right behind API
// Gateway, Function URLs, ALB or Lattice on 443, wrong for a local gateway on another port.
$wgServer = getenv( 'MW_SERVER' ) ?: WebRequest::detectServer();
$wgScriptPath = '';
$wgArticlePath = '/wiki/$1';
$wgUsePathInfo = true;
$wgResourceBasePath = $wgScriptPath;
$wgLogos = [ '1x' => "$wgResourceBasePath/resources/assets/change-your-logo.svg" ];

$wgDBtype = 'sqlite';
$wgDBname = 'my_wiki';
$wgDBserver = '';
$wgDBuser = '';
$wgDBpassword = '';
$wgSQLiteDataDir = "$run/data";
$wgObjectCaches[CACHE_DB] = [
	'class' => SqlBagOStuff::class,
	'loggroup' => 'SQLBagOStuff',
	'server' => [
		'type' => 'sqlite', 'dbname' => 'wikicache', 'tablePrefix' => '',
		'variables' => [ 'synchronous' => 'NORMAL' ], 'dbDirectory' => $wgSQLiteDataDir,
		'trxMode' => 'IMMEDIATE', 'flags' => 0,
	],
];
$wgJobTypeConf['default'] = [
	'class' => 'JobQueueDB',
	'claimTTL' => 3600,
	'server' => [
		'type' => 'sqlite', 'dbname' => "{$wgDBname}_jobqueue", 'tablePrefix' => '',
		'variables' => [ 'synchronous' => 'NORMAL' ], 'dbDirectory' => $wgSQLiteDataDir,
		'trxMode' => 'IMMEDIATE', 'flags' => 0,
	],
];
// Jobs run at the end of a request would add their time to a billed invocation: none here.
$wgJobRunRate = 0;
// Sessions in the database (the SQLite object cache): per instance with SQLite, shared with MariaDB/MySQL.
$wgMainCacheType = CACHE_NONE;
$wgSessionCacheType = CACHE_DB;
// The localisation cache is built once at install time into the kit and only read at run time.
$wgLocalisationCacheConf['store'] = 'files';
$wgLocalisationCacheConf['storeDirectory'] = "$kit/l10n";
$wgLocalisationCacheConf['manualRecache'] = true;
$wgCacheDirectory = "$run/cache";
$wgTmpDirectory = "$run/tmp";

$wgEnableUploads = true;
$wgUploadDirectory = "$run/images";
$wgUploadPath = '/images';
$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'pdf', 'txt' ];
$wgUseImageMagick = false;
$wgUseInstantCommons = false;
$wgHashedUploadDirectory = true;

$wgEnableEmail = false;
$wgPingback = false;
$wgLanguageCode = 'en';
$wgLocaltimezone = 'UTC';
$wgDiff3 = '/usr/bin/diff3';
// The same keys on every instance (sessions and tokens made on one are checked on the next): from the environment
// on Lambda (a secret), or the ones the installer generated for the suite.
$wgSecretKey = getenv( 'MW_SECRET_KEY' ) ?: trim( file_get_contents( "$kit/secret-key" ) );
$wgUpgradeKey = substr( hash( 'sha256', $wgSecretKey . 'upgrade' ), 0, 16 );
$wgAuthenticationTokenVersion = '1';
$wgDefaultSkin = 'vector';
wfLoadSkin( 'Vector' );
