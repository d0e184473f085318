<?php
// Router script of PHP's built-in server, run before every request of a real application under test
// (tests/php_apps/apps.py). It changes nothing the application does: it points the application at the
// test's own configuration, logs ONE JSON line per request once the application has answered, and returns
// false so that the built-in server runs the requested script or serves the static file as without a router.
//
// Environment (set by apps.py):
//   PHP_APPS_APP      wordpress | phpmyadmin | adminer
//   PHP_APPS_ROOT     the document root (a tree of symlinks to /usr/share/<app> with the test's config files)
//   PHP_APPS_LOG      the JSON Lines log to append to
//   PHP_APPS_API_KEY  the Tideways API key the X-Tideways-Profiler header is judged with
//
// Each record: time, method, path, query, status, location, account, protected, profiler, ref.
//   account   the user the application itself served the request as, read from its own state after it ran,
//             null when it served nobody (anonymous, failed login, static file).
//   protected whether the page is one the application only shows to a logged-in user (see php_apps_protected).
//   profiler  "absent", "accepted", or why Tideways would refuse the header: "malformed", "invalid hash",
//             "too old" (the same words as the baked target's verdict() in tests/target.py).

require_once __DIR__ . '/tideways_header.php';

/** Whether the request is for a page the application only shows to a logged-in user. */
function php_apps_protected(string $app, string $path): bool
{
    switch ($app) {
        case 'wordpress':
            // The admin screens; admin-ajax.php and admin-post.php also answer anonymous requests,
            // and the static files under wp-admin/ are served to anyone.
            return str_starts_with($path, '/wp-admin/')
                && (str_ends_with($path, '/') || str_ends_with($path, '.php'))
                && !in_array($path, ['/wp-admin/admin-ajax.php', '/wp-admin/admin-post.php'], true);
        case 'phpmyadmin':
            // Every route of index.php needs a login (without one it shows the login form in its place),
            // except /import-status, which Common::run() serves without authenticating.
            $route = $_GET['route'] ?? $_POST['route'] ?? '/';
            return in_array($path, ['/', '/index.php'], true) && $route !== '/import-status';
        case 'adminer':
            // Adminer only tries a login when the URL names a user (?username=...); without one it shows
            // the login form, and ?file=... serves its static files.
            return $path === '/adminer.php' && isset($_GET['username']) && !isset($_GET['file']);
    }
    return false;
}

/** The user the application served this request as, from its own state after it ran; null for nobody. */
function php_apps_account(string $app): ?string
{
    switch ($app) {
        case 'wordpress':
            // wp_get_current_user() is pluggable.php's, loaded by wp-settings.php: absent for static files.
            if (function_exists('is_user_logged_in') && is_user_logged_in()) {
                return wp_get_current_user()->user_login;
            }
            return null;
        case 'phpmyadmin':
            // $cfg['Server']['user'] is whatever the login form named (even when MariaDB refused it),
            // so it counts only once phpMyAdmin has connected as that user.
            $dbi = $GLOBALS['dbi'] ?? null;
            if (is_object($dbi) && method_exists($dbi, 'isConnected') && $dbi->isConnected()) {
                $user = $GLOBALS['cfg']['Server']['user'] ?? null;
                return is_string($user) && $user !== '' ? $user : null;
            }
            return null;
        case 'adminer':
            // Set by the Adminer object below once Adminer's own login() check passed for ?username=.
            return $GLOBALS['php_apps_adminer_login'] ?? null;
    }
    return null;
}

$php_apps_app = (string) getenv('PHP_APPS_APP');
$php_apps_root = rtrim((string) getenv('PHP_APPS_ROOT'), '/') . '/';
$php_apps_started = microtime(true);
$php_apps_profiler = $_SERVER['HTTP_X_TIDEWAYS_PROFILER'] ?? null;
$php_apps_request = [
    'time' => $php_apps_started,
    'method' => $_SERVER['REQUEST_METHOD'] ?? '',
    'path' => (string) parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH),
    'query' => $_SERVER['QUERY_STRING'] ?? '',
    'profiler' => php_apps_profiler_verdict($php_apps_profiler, (string) getenv('PHP_APPS_API_KEY'), $php_apps_started),
    'ref' => $_SERVER['HTTP_X_TIDEWAYS_REF'] ?? null,
];

/** Writes the request's one line: account when the application has run, status when everything has. */
final class PhpAppsLog
{
    private static bool $written = false;
    private static ?string $account = null;

    /** The first shutdown function (the router registers it before the application runs). */
    public static function applicationDone(): void
    {
        global $php_apps_app;
        self::$account = php_apps_account($php_apps_app);
        // Last of the shutdown functions registered so far, so after the application's own ones.
        register_shutdown_function([self::class, 'write']);
    }

    /** Once: after the application's shutdown functions, or from the destructor when one of those exited
     *  (phpMyAdmin's ResponseRenderer::response() does, which stops the shutdown functions after it). */
    public static function write(): void
    {
        global $php_apps_app, $php_apps_request;
        if (self::$written) {
            return;
        }
        self::$written = true;
        $location = null;
        foreach (headers_list() as $header) {
            if (stripos($header, 'location:') === 0) {
                $location = trim(substr($header, strlen('location:')));
            }
        }
        $record = $php_apps_request + [
            'status' => http_response_code() ?: 200,
            'location' => $location,
            'account' => self::$account,
            'protected' => php_apps_protected($php_apps_app, $php_apps_request['path']),
        ];
        $line = json_encode($record, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        // One write of a whole line, locked: the built-in server's workers are separate processes.
        file_put_contents((string) getenv('PHP_APPS_LOG'), $line . "\n", FILE_APPEND | LOCK_EX);
    }

    public function __destruct()
    {
        self::write();
    }
}

register_shutdown_function([PhpAppsLog::class, 'applicationDone']);
$php_apps_log = new PhpAppsLog();

switch ($php_apps_app) {
    case 'wordpress':
        // wp-load.php reads ABSPATH . 'wp-config.php' and only defines ABSPATH when it is not yet defined:
        // the test's tree has its own wp-config.php next to symlinks to Debian's files (whose __DIR__ is
        // /usr/share/wordpress, where Debian's wp-config.php would read /etc/wordpress/config-<host>.php).
        define('ABSPATH', $php_apps_root);
        break;
    case 'phpmyadmin':
        // index.php only defines ROOT_PATH when it is not yet defined; the test's tree has its own
        // libraries/vendor_config.php, which names its config.inc.php instead of /etc/phpmyadmin's.
        define('ROOT_PATH', $php_apps_root);
        break;
    case 'adminer':
        // Adminer's own extension point (Debian's /etc/adminer/conf.php uses it too): the same Adminer,
        // whose login() decision (made only once it has connected to MariaDB as ?username=) is remembered.
        function adminer_object()
        {
            return new class extends Adminer {
                public function login($login, $password)
                {
                    $result = parent::login($login, $password);
                    if ($result === true) {
                        $GLOBALS['php_apps_adminer_login'] = (string) $login;
                    }
                    return $result;
                }
            };
        }
        break;
}

return false;
