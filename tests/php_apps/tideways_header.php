<?php
// The X-Tideways-Profiler check as Tideways' server side does it (/work/shared/reference/tideways-header.md:
// Tideways.php, decideProfiling()), for the router script. tests/test_php_apps.py runs it on the reference's
// test vectors.

/** Lowercase hex HMAC-SHA256 of the message, keyed with the lowercase hex MD5 of the API key. */
function php_apps_profiler_hash(string $message, string $apiKey): string
{
    return hash_hmac('sha256', $message, md5($apiKey));
}

/** The verdict on an X-Tideways-Profiler header: "accepted" or why Tideways would not monitor the request. */
function php_apps_profiler_verdict(?string $header, string $apiKey, float $now): string
{
    if ($header === null) {
        return 'absent';
    }
    // Parsed like a query string, each of the four fields exactly once (they may be empty); a name
    // without "=" counts with an empty value, as in Python's parse_qs(keep_blank_values=True).
    $fields = [];
    foreach (explode('&', $header) as $pair) {
        if ($pair === '') {
            continue;
        }
        $parts = explode('=', $pair, 2);
        $name = urldecode($parts[0]);
        $fields[$name][] = urldecode($parts[1] ?? '');
    }
    foreach (['method', 'time', 'user', 'hash'] as $name) {
        if (count($fields[$name] ?? []) !== 1) {
            return 'malformed';
        }
    }
    [$method, $time, $user, $hash] = [$fields['method'][0], $fields['time'][0], $fields['user'][0], $fields['hash'][0]];
    $expected = php_apps_profiler_hash("method=$method&time=$time&user=$user", $apiKey);
    if (!hash_equals($expected, $hash)) {
        return 'invalid hash';
    }
    if (!ctype_digit($time) || (int) $time < $now) {
        return 'too old';
    }
    return 'accepted';
}
