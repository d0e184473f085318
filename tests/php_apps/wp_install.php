<?php
// Installs the test's WordPress in one CLI run, as wp-admin/install.php would: WordPress's own wp_install()
// for the first account (an administrator), wp_insert_user() for the others (subscribers, the default role).
//
// Environment: PHP_APPS_ROOT (the tree whose wp-config.php names the database), PHP_APPS_URL (the site's
// address), PHP_APPS_ACCOUNTS (a JSON object, user name -> password). Prints one JSON line: the user ids.

$root = rtrim((string) getenv('PHP_APPS_ROOT'), '/') . '/';
$url = (string) getenv('PHP_APPS_URL');
$accounts = json_decode((string) getenv('PHP_APPS_ACCOUNTS'), true, 4, JSON_THROW_ON_ERROR);

// What a request to wp-admin/install.php would have.
$_SERVER['HTTP_HOST'] = (string) parse_url($url, PHP_URL_HOST) . ':' . (string) parse_url($url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/wp-admin/install.php';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD'] = 'POST';

define('WP_INSTALLING', true);
define('ABSPATH', $root);  // see router.php: the tree's own wp-config.php, not Debian's
require ABSPATH . 'wp-load.php';

// No HTTP requests while installing: wp_install() asks the site itself whether pretty permalinks work,
// and nothing of the test's answers on its port yet (or something else does, which could hold it 10 s).
add_filter('pre_http_request', static fn () => new WP_Error('php_apps_install', 'no HTTP while installing'));

// Pluggable: the "your new site" e-mail (this machine has no sendmail).
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password)
{
}

require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (is_blog_installed()) {
    fwrite(STDERR, "WordPress is already installed in this database\n");
    exit(1);
}

$ids = [];
foreach ($accounts as $name => $password) {
    $email = "$name@example.test";
    if (!$ids) {
        $result = wp_install('Tideways Locust test site', $name, $email, false, '', wp_slash($password), '');
        $ids[$name] = (int) $result['user_id'];
    } else {
        $id = wp_insert_user(['user_login' => $name, 'user_pass' => $password, 'user_email' => $email]);
        if (is_wp_error($id)) {
            fwrite(STDERR, "wp_insert_user($name): " . $id->get_error_message() . "\n");
            exit(1);
        }
        $ids[$name] = $id;
    }
}
echo json_encode($ids), "\n";
