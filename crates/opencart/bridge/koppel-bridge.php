<?php
/**
 * koppel bridge for OpenCart 3.0.x, 4.0.x and 4.1.x (PHP 7.4 - 8.3, mysqli).
 *
 * One file, copied into the OpenCart root (next to OpenCart's own config.php). It answers signed
 * JSON requests from koppel and nothing else. See INSTALL.md beside this file for the install
 * steps and PROTOCOL.md for the wire format.
 *
 * Security (every request):
 *   headers X-Koppel-Timestamp (unix seconds), X-Koppel-Nonce (16-128 chars [A-Za-z0-9_-]),
 *   X-Koppel-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(SHA256(body))))
 *   where PATH is the request URI as sent (path and query). A timestamp more than 300 s from the
 *   server's clock, a nonce seen before, or a signature that does not match (hash_equals) gets 401.
 *   The secret lives in a file outside the web root (see bridge_config_path()), never in a URL.
 *   All SQL goes through prepared statements; identifiers are only the fixed table names below
 *   with OpenCart's DB_PREFIX (checked against [A-Za-z0-9_]). Errors never carry database
 *   messages or file paths: they are logged with error_log() and answered with a generic text.
 */

define('KOPPEL_BRIDGE_VERSION', '1.0.0');
define('KOPPEL_WINDOW', 300);
define('KOPPEL_MAX_BODY', 8 * 1024 * 1024);
define('KOPPEL_MAX_BATCH', 500);

/** An error that is safe to show to the (authenticated) caller. */
class KoppelError extends Exception {
    public $status;
    public $kind;
    public function __construct($status, $kind, $message) {
        parent::__construct($message);
        $this->status = $status;
        $this->kind = $kind;
    }
}

/** A record's own fault: reported per item, the batch goes on. */
class KoppelRecordError extends Exception {
    public $field;
    public function __construct($field, $message) {
        parent::__construct($message);
        $this->field = $field;
    }
}

function koppel_respond($status, $data) {
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    echo json_encode($data, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
    exit;
}

function koppel_fail($status, $kind, $message) {
    koppel_respond($status, array('error' => array('kind' => $kind, 'message' => $message)));
}

// Never print PHP warnings into the response (they can carry paths); log them instead.
ini_set('display_errors', '0');
set_error_handler(function ($no, $str, $file, $line) {
    error_log('koppel-bridge: ' . $str . ' at ' . basename($file) . ':' . $line);
    return true;
});
set_exception_handler(function ($e) {
    error_log('koppel-bridge: uncaught ' . get_class($e) . ': ' . $e->getMessage());
    koppel_fail(500, 'internal', 'internal error in the bridge (see the web server error log)');
});
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);

// ------------------------------------------------------------------------------------------
// Configuration: OpenCart's config.php (DB_*, DB_PREFIX, DIR_STORAGE) and the bridge's own file.
// ------------------------------------------------------------------------------------------

function koppel_root() {
    $env = getenv('KOPPEL_OPENCART_ROOT');
    return $env ? rtrim($env, '/') : __DIR__;
}

/**
 * Where the bridge's own settings (the shared secret) live: $KOPPEL_BRIDGE_CONFIG, else
 * koppel-bridge.json in OpenCart's storage directory (DIR_STORAGE, which OpenCart 3.0+ asks the
 * owner to move outside the web root), else one directory above the OpenCart root.
 */
function bridge_config_path() {
    $env = getenv('KOPPEL_BRIDGE_CONFIG');
    if ($env) {
        return $env;
    }
    if (defined('DIR_STORAGE') && is_file(DIR_STORAGE . 'koppel-bridge.json')) {
        return DIR_STORAGE . 'koppel-bridge.json';
    }
    return dirname(koppel_root()) . '/koppel-bridge.json';
}

function koppel_load_config() {
    $oc = koppel_root() . '/config.php';
    if (!is_file($oc)) {
        koppel_fail(500, 'setup', 'OpenCart config.php not found next to the bridge');
    }
    require_once $oc;
    foreach (array('DB_HOSTNAME', 'DB_USERNAME', 'DB_PASSWORD', 'DB_DATABASE', 'DB_PREFIX') as $c) {
        if (!defined($c)) {
            koppel_fail(500, 'setup', 'OpenCart config.php does not define ' . $c);
        }
    }
    if (!preg_match('/^[A-Za-z0-9_]*$/', DB_PREFIX)) {
        koppel_fail(500, 'setup', 'DB_PREFIX has characters the bridge does not accept');
    }
    $path = bridge_config_path();
    $raw = is_file($path) ? file_get_contents($path) : false;
    $cfg = $raw === false ? null : json_decode($raw, true);
    if (!is_array($cfg) || !isset($cfg['secret']) || !is_string($cfg['secret']) || strlen($cfg['secret']) < 32) {
        koppel_fail(500, 'setup', 'bridge settings missing or without a secret of at least 32 characters (see INSTALL.md)');
    }
    return $cfg;
}

// ------------------------------------------------------------------------------------------
// Database
// ------------------------------------------------------------------------------------------

class KoppelDb {
    /** @var mysqli */
    public $link;
    public $prefix;

    public function __construct() {
        $port = defined('DB_PORT') ? (int)DB_PORT : 3306;
        try {
            $this->link = new mysqli(DB_HOSTNAME, DB_USERNAME, DB_PASSWORD, DB_DATABASE, $port);
        } catch (mysqli_sql_exception $e) {
            error_log('koppel-bridge: database connection failed: ' . $e->getMessage());
            throw new KoppelError(503, 'database', 'the shop database is not reachable');
        }
        $this->link->set_charset('utf8mb4');
        // What OpenCart's own mysqli driver sets (system/library/db/mysqli.php, 3.0 and 4.x).
        $this->link->query("SET SESSION sql_mode = 'NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'");
        $this->prefix = DB_PREFIX;
    }

    public function t($name) {
        return '`' . $this->prefix . $name . '`';
    }

    /** Runs a prepared statement; returns rows for SELECT, else affected rows / insert id. */
    public function run($sql, $params = array()) {
        $stmt = $this->link->prepare($sql);
        if ($params) {
            $types = '';
            $values = array();
            foreach ($params as $p) {
                if (is_int($p) || is_bool($p)) {
                    $types .= 'i';
                    $values[] = (int)$p;
                } elseif (is_float($p)) {
                    $types .= 'd';
                    $values[] = $p;
                } else {
                    $types .= 's';
                    $values[] = $p === null ? null : (string)$p;
                }
            }
            $stmt->bind_param($types, ...$values);
        }
        $stmt->execute();
        $res = $stmt->get_result();
        if ($res === false) {
            $out = array('affected' => $stmt->affected_rows, 'id' => $stmt->insert_id);
            $stmt->close();
            return $out;
        }
        $rows = $res->fetch_all(MYSQLI_ASSOC);
        $stmt->close();
        return $rows;
    }

    public function one($sql, $params = array()) {
        $rows = $this->run($sql, $params);
        return $rows ? $rows[0] : null;
    }

    public function has_table($name) {
        return (bool)$this->one('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', array($this->prefix . $name));
    }

    public function has_column($table, $column) {
        return (bool)$this->one('SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?', array($this->prefix . $table, $column));
    }

    public function engine($table) {
        $r = $this->one('SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', array($this->prefix . $table));
        return $r ? $r['ENGINE'] : null;
    }
}

// ------------------------------------------------------------------------------------------
// Schema variant
// ------------------------------------------------------------------------------------------

/**
 * 3.0: sku in oc_product.sku, payment_code/shipping_code columns, country name in oc_country.
 * 4.0: oc_product.master_id; from 4.0.2.0 payment_method/shipping_method hold JSON and the
 *      *_code columns are gone.
 * 4.1: sku in oc_product_code (code 'SKU', table added 4.1.0.1), country and zone names in
 *      oc_country_description / oc_zone_description.
 * (../shared/reference/webshops.md C4 and the DESCRIBE listing of 3.0.5.0, 4.0.2.3, 4.1.0.4.)
 */
function koppel_schema(KoppelDb $db) {
    $s = array();
    $s['product_code'] = $db->has_table('product_code');
    $s['master_id'] = $db->has_column('product', 'master_id');
    $s['payment_code'] = $db->has_column('order', 'payment_code');
    $s['country_description'] = $db->has_table('country_description');
    $s['zone_description'] = $db->has_table('zone_description');
    $s['seo_query'] = $db->has_column('seo_url', 'query');
    $s['address_default'] = $db->has_column('address', 'default');
    $s['variant'] = $s['product_code'] ? '4.1' : ($s['master_id'] ? '4.0' : '3.0');
    $s['transactions'] = $db->engine('product') === 'InnoDB';
    return $s;
}

/** OpenCart's VERSION constant, read from its index.php without running it. */
function koppel_opencart_version() {
    $index = @file_get_contents(koppel_root() . '/index.php');
    if ($index !== false && preg_match("/define\\(\\s*'VERSION'\\s*,\\s*'([0-9.a-z_-]+)'/", $index, $m)) {
        return $m[1];
    }
    return null;
}

// ------------------------------------------------------------------------------------------
// Time: OpenCart writes DATETIMEs in shop-local time (it sets the MySQL session time_zone to
// PHP's offset: 3.0 system/framework.php, 4.x catalog/controller/startup/setting.php).
// ------------------------------------------------------------------------------------------

function koppel_timezone(KoppelDb $db, $cfg) {
    $name = isset($cfg['timezone']) ? $cfg['timezone'] : null;
    if (!$name) {
        // 4.x stores the shop's zone as config_timezone (admin > settings > local).
        $r = $db->one('SELECT `value` FROM ' . $db->t('setting') . " WHERE `store_id` = 0 AND `key` = 'config_timezone'");
        if ($r && $r['value']) {
            $name = $r['value'];
        }
    }
    if (!$name) {
        $name = date_default_timezone_get();
    }
    try {
        return new DateTimeZone($name);
    } catch (Exception $e) {
        throw new KoppelError(500, 'setup', 'the shop time zone is not a valid zone name');
    }
}

function koppel_local_to_utc($local, DateTimeZone $tz) {
    if ($local === null || $local === '' || strpos($local, '0000-00-00') === 0) {
        return null;
    }
    $d = new DateTime($local, $tz);
    $d->setTimezone(new DateTimeZone('UTC'));
    return $d->format('Y-m-d\TH:i:s\Z');
}

function koppel_utc_to_local($utc, DateTimeZone $tz) {
    $d = new DateTime($utc, new DateTimeZone('UTC'));
    $d->setTimezone($tz);
    return $d->format('Y-m-d H:i:s');
}

/** Sets the session time zone the way OpenCart does, so NOW() writes shop-local time. */
function koppel_session_timezone(KoppelDb $db, DateTimeZone $tz) {
    $now = new DateTime('now', $tz);
    $offset = $now->getOffset();
    $sign = $offset < 0 ? '-' : '+';
    $offset = abs($offset);
    $db->run('SET time_zone = ?', array(sprintf('%s%02d:%02d', $sign, intdiv($offset, 3600), intdiv($offset % 3600, 60))));
}

// ------------------------------------------------------------------------------------------
// Authentication
// ------------------------------------------------------------------------------------------

function koppel_header($name) {
    $key = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
    return isset($_SERVER[$key]) ? (string)$_SERVER[$key] : '';
}

/** Checks the signature, the window and the nonce; 401 on any failure, no detail why. */
function koppel_authenticate(KoppelDb $db, $cfg, $method, $uri, $body) {
    $ts = koppel_header('X-Koppel-Timestamp');
    $nonce = koppel_header('X-Koppel-Nonce');
    $sig = strtolower(koppel_header('X-Koppel-Signature'));
    if (!preg_match('/^[0-9]{1,12}$/', $ts) || !preg_match('/^[A-Za-z0-9_-]{16,128}$/', $nonce) || !preg_match('/^[0-9a-f]{64}$/', $sig)) {
        koppel_fail(401, 'unauthorized', 'missing or malformed signature headers');
    }
    $canonical = $method . "\n" . $uri . "\n" . $ts . "\n" . $nonce . "\n" . hash('sha256', $body);
    $expected = hash_hmac('sha256', $canonical, $cfg['secret']);
    if (!hash_equals($expected, $sig)) {
        koppel_fail(401, 'unauthorized', 'signature does not match');
    }
    if (abs(time() - (int)$ts) > KOPPEL_WINDOW) {
        koppel_fail(401, 'unauthorized', 'timestamp outside the allowed window of 300 seconds');
    }
    // Nonces are remembered for twice the window; the primary key refuses a replay atomically.
    $db->link->query('CREATE TABLE IF NOT EXISTS ' . $db->t('koppel_nonce') . ' (`nonce` varchar(128) NOT NULL, `seen` int(11) NOT NULL, PRIMARY KEY (`nonce`), KEY `seen` (`seen`)) ENGINE=' . ($db->engine('product') === 'InnoDB' ? 'InnoDB' : 'MyISAM') . ' DEFAULT CHARSET=ascii');
    $db->run('DELETE FROM ' . $db->t('koppel_nonce') . ' WHERE `seen` < ?', array(time() - 2 * KOPPEL_WINDOW));
    try {
        $db->run('INSERT INTO ' . $db->t('koppel_nonce') . ' (`nonce`, `seen`) VALUES (?, ?)', array($nonce, time()));
    } catch (mysqli_sql_exception $e) {
        if ((int)$e->getCode() === 1062) {
            koppel_fail(401, 'unauthorized', 'nonce already used');
        }
        throw $e;
    }
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

function koppel_items($req) {
    if (!isset($req['items']) || !is_array($req['items'])) {
        throw new KoppelError(400, 'request', 'items: missing or not a list');
    }
    if (count($req['items']) > KOPPEL_MAX_BATCH) {
        throw new KoppelError(400, 'request', 'items: more than ' . KOPPEL_MAX_BATCH . ' in one call');
    }
    return array_values($req['items']);
}

/** Length in characters (UTF-8) without needing the mbstring extension. */
function koppel_len($s) {
    return function_exists('mb_strlen') ? mb_strlen($s, 'UTF-8') : (int)preg_match_all('/./us', $s);
}

function koppel_str($a, $k, $default = '') {
    return isset($a[$k]) && (is_string($a[$k]) || is_numeric($a[$k])) ? (string)$a[$k] : $default;
}

function koppel_decimal($a, $k) {
    if (!isset($a[$k]) || !(is_string($a[$k]) || is_int($a[$k])) || !preg_match('/^-?[0-9]{1,11}(\.[0-9]{1,8})?$/', (string)$a[$k])) {
        throw new KoppelRecordError($k, 'must be a decimal number as text');
    }
    return (string)$a[$k];
}

function koppel_int($a, $k, $min = null) {
    if (!isset($a[$k]) || !is_int($a[$k]) || ($min !== null && $a[$k] < $min)) {
        throw new KoppelRecordError($k, 'must be an integer' . ($min !== null ? ' >= ' . $min : ''));
    }
    return $a[$k];
}

function koppel_key_field($req) {
    $key = koppel_str($req, 'key', 'sku');
    if ($key !== 'sku' && $key !== 'model') {
        throw new KoppelError(400, 'request', 'key: must be "sku" or "model"');
    }
    return $key;
}

/** product_ids by SKU (or model); more than one product with the same code is the record's fault. */
function koppel_find_products(KoppelDb $db, $schema, $key, $codes) {
    $found = array();
    if (!$codes) {
        return $found;
    }
    $marks = implode(',', array_fill(0, count($codes), '?'));
    if ($key === 'model') {
        $rows = $db->run('SELECT `product_id`, `model` AS code FROM ' . $db->t('product') . " WHERE `model` IN ($marks)", $codes);
    } elseif ($schema['product_code']) {
        // 4.1: oc_product_code(product_id, code, value), code 'SKU' from oc_identifier.
        $rows = $db->run('SELECT `product_id`, `value` AS code FROM ' . $db->t('product_code') . " WHERE `code` = 'SKU' AND `value` IN ($marks)", $codes);
    } else {
        $rows = $db->run('SELECT `product_id`, `sku` AS code FROM ' . $db->t('product') . " WHERE `sku` IN ($marks)", $codes);
    }
    foreach ($rows as $r) {
        $found[(string)$r['code']][] = (int)$r['product_id'];
    }
    return $found;
}

function koppel_languages(KoppelDb $db) {
    $rows = $db->run('SELECT `language_id`, `code` FROM ' . $db->t('language') . ' ORDER BY `sort_order`, `language_id`');
    $out = array();
    foreach ($rows as $r) {
        $out[(int)$r['language_id']] = $r['code'];
    }
    return $out;
}

function koppel_default_language(KoppelDb $db) {
    $r = $db->one('SELECT l.`language_id` FROM ' . $db->t('setting') . ' s JOIN ' . $db->t('language') . " l ON l.`code` = s.`value` WHERE s.`store_id` = 0 AND s.`key` = 'config_language'");
    if ($r) {
        return (int)$r['language_id'];
    }
    $langs = koppel_languages($db);
    return $langs ? (int)array_key_first($langs) : 1;
}

/** A category id for a path of names (root first), by oc_category.parent_id and its names. */
function koppel_category_by_path(KoppelDb $db, $path) {
    $parent = 0;
    foreach ($path as $i => $name) {
        $r = $db->run('SELECT DISTINCT c.`category_id` FROM ' . $db->t('category') . ' c JOIN ' . $db->t('category_description') . ' d ON d.`category_id` = c.`category_id` WHERE c.`parent_id` = ? AND d.`name` = ?', array($parent, (string)$name));
        if (count($r) !== 1) {
            throw new KoppelRecordError('category[' . $i . ']', count($r) ? 'category name "' . $name . '" is not unique under its parent' : 'no category "' . implode(' > ', array_slice($path, 0, $i + 1)) . '" in the shop (create it in the OpenCart admin)');
        }
        $parent = (int)$r[0]['category_id'];
    }
    return $parent;
}

/** The names from the root to a category, in one language (walking oc_category.parent_id). */
function koppel_category_path(KoppelDb $db, $category_id, $lang) {
    $names = array();
    $seen = array();
    while ($category_id > 0 && !isset($seen[$category_id])) {
        $seen[$category_id] = true;
        $r = $db->one('SELECT c.`parent_id`, d.`name` FROM ' . $db->t('category') . ' c LEFT JOIN ' . $db->t('category_description') . ' d ON d.`category_id` = c.`category_id` AND d.`language_id` = ? WHERE c.`category_id` = ?', array($lang, $category_id));
        if (!$r) {
            break;
        }
        array_unshift($names, (string)$r['name']);
        $category_id = (int)$r['parent_id'];
    }
    return $names;
}

function koppel_product_state(KoppelDb $db, $schema, $product_id, $key_value, $lang) {
    $p = $db->one('SELECT `product_id`, `model`, `price`, `tax_class_id`, `weight`, `weight_class_id`, `status`, `quantity`, `date_modified` FROM ' . $db->t('product') . ' WHERE `product_id` = ?', array($product_id));
    if (!$p) {
        return null;
    }
    $d = $db->one('SELECT `name`, `description` FROM ' . $db->t('product_description') . ' WHERE `product_id` = ? AND `language_id` = ?', array($product_id, $lang));
    $cats = array();
    foreach ($db->run('SELECT `category_id` FROM ' . $db->t('product_to_category') . ' WHERE `product_id` = ? ORDER BY `category_id`', array($product_id)) as $c) {
        $cats[] = (int)$c['category_id'];
    }
    $paths = array();
    foreach ($cats as $cid) {
        $paths[] = koppel_category_path($db, $cid, $lang);
    }
    $stores = array();
    foreach ($db->run('SELECT `store_id` FROM ' . $db->t('product_to_store') . ' WHERE `product_id` = ? ORDER BY `store_id`', array($product_id)) as $s) {
        $stores[] = (int)$s['store_id'];
    }
    if ($schema['seo_query']) {
        $k = $db->one('SELECT `keyword` FROM ' . $db->t('seo_url') . ' WHERE `store_id` = 0 AND `language_id` = ? AND `query` = ?', array($lang, 'product_id=' . $product_id));
    } else {
        $k = $db->one('SELECT `keyword` FROM ' . $db->t('seo_url') . " WHERE `store_id` = 0 AND `language_id` = ? AND `key` = 'product_id' AND `value` = ?", array($lang, (string)$product_id));
    }
    return array(
        'product_id' => (int)$p['product_id'],
        'code' => $key_value,
        'model' => $p['model'],
        'name' => $d ? $d['name'] : null,
        'description' => $d ? $d['description'] : null,
        'price' => $p['price'],
        'tax_class_id' => (int)$p['tax_class_id'],
        'weight' => $p['weight'],
        'weight_class_id' => (int)$p['weight_class_id'],
        'status' => (int)$p['status'],
        'quantity' => (int)$p['quantity'],
        'category_ids' => $cats,
        'categories' => $paths,
        'store_ids' => $stores,
        'keyword' => $k ? $k['keyword'] : null,
    );
}

// ------------------------------------------------------------------------------------------
// Operations
// ------------------------------------------------------------------------------------------

function op_ping(KoppelDb $db, $schema, $cfg, $req) {
    return array(
        'bridge_version' => KOPPEL_BRIDGE_VERSION,
        'opencart_version' => koppel_opencart_version(),
        'schema' => $schema['variant'],
        'transactions' => $schema['transactions'],
        'php_version' => PHP_VERSION,
        'timezone' => koppel_timezone($db, $cfg)->getName(),
        'languages' => array_values(koppel_languages($db)),
        'max_batch' => KOPPEL_MAX_BATCH,
    );
}

/** Read-only: what the shop holds for these codes (for koppel's plan and diff). */
function op_products_get(KoppelDb $db, $schema, $cfg, $req) {
    $key = koppel_key_field($req);
    $codes = array();
    foreach (koppel_items($req) as $c) {
        if (is_string($c) && $c !== '') {
            $codes[] = $c;
        }
    }
    $lang = koppel_default_language($db);
    $found = koppel_find_products($db, $schema, $key, $codes);
    $out = array();
    foreach ($codes as $c) {
        if (!isset($found[$c])) {
            $out[] = array('code' => $c, 'found' => false);
        } elseif (count($found[$c]) > 1) {
            $out[] = array('code' => $c, 'found' => true, 'error' => array('field' => $key, 'message' => count($found[$c]) . ' products have ' . $key . ' "' . $c . '"'));
        } else {
            $out[] = array('code' => $c, 'found' => true, 'product' => koppel_product_state($db, $schema, $found[$c][0], $c, $lang));
        }
    }
    return array('items' => $out);
}

/**
 * Read-only: runs every check products.upsert runs on each item (name, price, tax class,
 * categories by name path, SEO keyword, duplicate codes) and returns what the shop holds now,
 * so koppel's plan predicts the run record by record.
 */
function op_products_plan(KoppelDb $db, $schema, $cfg, $req) {
    $key = koppel_key_field($req);
    $langs = koppel_languages($db);
    $lang = koppel_default_language($db);
    $stores = array(0);
    if (isset($req['store_ids']) && is_array($req['store_ids'])) {
        $stores = array_values(array_unique(array_map('intval', $req['store_ids'])));
    }
    $out = array();
    foreach (koppel_items($req) as $item) {
        $code = is_array($item) ? koppel_str($item, 'code') : '';
        try {
            if ($code === '' || strlen($code) > 64) {
                throw new KoppelRecordError('code', 'must be 1-64 characters');
            }
            $r = koppel_upsert_one($db, $schema, $key, $code, $item, $langs, $lang, $stores, true);
            $wanted = isset($item['categories']) ? $r['category_ids'] : null;
            if ($r['product_id']) {
                $out[] = array('code' => $code, 'found' => true, 'product' => koppel_product_state($db, $schema, $r['product_id'], $code, $lang), 'category_ids' => $wanted);
            } else {
                $out[] = array('code' => $code, 'found' => false, 'category_ids' => $wanted);
            }
        } catch (KoppelRecordError $e) {
            $out[] = array('code' => $code, 'found' => false, 'error' => array('field' => $e->field, 'message' => $e->getMessage()));
        }
    }
    return array('items' => $out);
}

/**
 * Creates or updates products by SKU (or model). A create writes the rows OpenCart's admin writes
 * in addProduct (admin/model/catalog/product.php, 3.0 and 4.x): oc_product with every column the
 * admin form sets, oc_product_code 'SKU' (4.1), oc_product_description for every language,
 * oc_product_to_store, oc_product_to_category, oc_seo_url per store and language, and
 * oc_product_to_layout (3.0: one row per store with layout 0, as the admin form posts it).
 * An update changes only the fields koppel owns (name/description in the given languages, price,
 * tax class, weight, status, categories, SEO keyword), like editProduct but without clearing
 * what the shop owner set (images, options, specials).
 */
function op_products_upsert(KoppelDb $db, $schema, $cfg, $req) {
    $key = koppel_key_field($req);
    $items = koppel_items($req);
    $langs = koppel_languages($db);
    $default_lang = koppel_default_language($db);
    $stores = array(0);
    if (isset($req['store_ids']) && is_array($req['store_ids'])) {
        $stores = array_values(array_unique(array_map('intval', $req['store_ids'])));
    }
    $out = array();
    foreach ($items as $i => $item) {
        $code = is_array($item) ? koppel_str($item, 'code') : '';
        if ($schema['transactions']) {
            $db->link->begin_transaction();
        }
        try {
            if ($code === '' || strlen($code) > 64) {
                throw new KoppelRecordError('code', 'must be 1-64 characters');
            }
            $res = koppel_upsert_one($db, $schema, $key, $code, $item, $langs, $default_lang, $stores);
            if ($schema['transactions']) {
                $db->link->commit();
            }
            $out[] = $res;
        } catch (KoppelRecordError $e) {
            if ($schema['transactions']) {
                $db->link->rollback();
            }
            $out[] = array('code' => $code, 'error' => array('field' => $e->field, 'message' => $e->getMessage()));
        } catch (mysqli_sql_exception $e) {
            if ($schema['transactions']) {
                $db->link->rollback();
            }
            error_log('koppel-bridge: products.upsert ' . $code . ': ' . $e->getMessage());
            if (!$schema['transactions'] && !empty($GLOBALS['koppel_creating'])) {
                koppel_remove_partial($db, $schema, (int)$GLOBALS['koppel_creating']);
            }
            $out[] = array('code' => $code, 'error' => array('field' => '', 'message' => 'the database refused the product (see the web server error log)'));
        }
    }
    return array('items' => $out);
}

function koppel_upsert_one(KoppelDb $db, $schema, $key, $code, $item, $langs, $default_lang, $stores, $dry = false) {
    $name = koppel_str($item, 'name');
    if (trim($name) === '' || koppel_len($name) > 255) {
        throw new KoppelRecordError('name', 'must be 1-255 characters');
    }
    $price = koppel_decimal($item, 'price');
    $tax_class_id = koppel_int($item, 'tax_class_id', 0);
    if ($tax_class_id > 0 && !$db->one('SELECT 1 FROM ' . $db->t('tax_class') . ' WHERE `tax_class_id` = ?', array($tax_class_id))) {
        throw new KoppelRecordError('tax_class_id', 'tax class ' . $tax_class_id . ' does not exist in the shop');
    }
    $weight = isset($item['weight']) ? koppel_decimal($item, 'weight') : '0';
    $weight_class_id = isset($item['weight_class_id']) ? koppel_int($item, 'weight_class_id', 0) : 0;
    $status = !empty($item['status']) ? 1 : 0;
    $description = koppel_str($item, 'description');
    $model = koppel_str($item, 'model', $code);
    if (koppel_len($model) > 64) {
        throw new KoppelRecordError('model', 'longer than 64 characters');
    }
    $names = array();
    if (isset($item['names']) && is_array($item['names'])) {
        foreach ($item['names'] as $lcode => $n) {
            if (is_string($n) && trim($n) !== '') {
                $names[(string)$lcode] = $n;
            }
        }
    }
    $cat_ids = array();
    if (isset($item['categories']) && is_array($item['categories'])) {
        foreach ($item['categories'] as $path) {
            if (is_array($path) && $path) {
                $cat_ids[] = koppel_category_by_path($db, array_values($path));
            }
        }
    }
    $keyword = koppel_str($item, 'keyword');
    $found = koppel_find_products($db, $schema, $key, array($code));
    if (isset($found[$code]) && count($found[$code]) > 1) {
        throw new KoppelRecordError($key, count($found[$code]) . ' products have ' . $key . ' "' . $code . '"');
    }
    $product_id = isset($found[$code]) ? $found[$code][0] : 0;
    if ($keyword !== '') {
        koppel_check_keyword($db, $schema, $keyword, $product_id, $stores, array_keys($langs));
    }
    if ($dry) {
        // products.plan: every check above ran, nothing is written.
        return array('product_id' => $product_id, 'category_ids' => array_values(array_unique($cat_ids)));
    }
    $created = false;
    if (!$product_id) {
        $created = true;
        $quantity = isset($item['quantity']) ? koppel_int($item, 'quantity') : 0;
        $cols = array('`model` = ?', '`location` = ?', '`quantity` = ?', '`minimum` = 1', '`subtract` = 1', '`stock_status_id` = ?', '`date_available` = CURDATE()', '`manufacturer_id` = 0', '`shipping` = 1', '`price` = ?', '`points` = 0', '`weight` = ?', '`weight_class_id` = ?', '`length` = 0', '`width` = 0', '`height` = 0', '`length_class_id` = ?', '`status` = ?', '`tax_class_id` = ?', '`sort_order` = 0', '`date_added` = NOW()', '`date_modified` = NOW()');
        $params = array($model, '', $quantity, koppel_setting_int($db, 'config_stock_status_id', 5), $price, $weight, $weight_class_id, koppel_setting_int($db, 'config_length_class_id', 1), $status, $tax_class_id);
        if (!$schema['product_code']) {
            // 3.0 / 4.0: the identifier columns are NOT NULL without default; the admin form posts ''.
            $cols[] = '`sku` = ?';
            $params[] = $key === 'sku' ? $code : '';
            foreach (array('upc', 'ean', 'jan', 'isbn', 'mpn') as $c) {
                $cols[] = "`$c` = ''";
            }
        }
        if ($schema['master_id']) {
            $cols[] = "`master_id` = 0, `variant` = '', `override` = ''";
        }
        $r = $db->run('INSERT INTO ' . $db->t('product') . ' SET ' . implode(', ', $cols), $params);
        $product_id = (int)$r['id'];
        // Without transactions (MyISAM, 3.0): remembered so a failure part-way removes the rows.
        $GLOBALS['koppel_creating'] = $product_id;
        if ($schema['product_code'] && $key === 'sku') {
            $db->run('INSERT INTO ' . $db->t('product_code') . " (`product_id`, `code`, `value`) VALUES (?, 'SKU', ?)", array($product_id, $code));
        }
        foreach ($langs as $lid => $lcode) {
            $n = isset($names[$lcode]) ? $names[$lcode] : $name;
            $db->run('INSERT INTO ' . $db->t('product_description') . ' (`product_id`, `language_id`, `name`, `description`, `tag`, `meta_title`, `meta_description`, `meta_keyword`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', array($product_id, $lid, $n, $description, '', $n, '', ''));
        }
    } else {
        // Only the fields the item carries: a weight koppel does not know stays as the shop has it.
        $set = array('`price` = ?', '`tax_class_id` = ?', '`status` = ?');
        $params = array($price, $tax_class_id, $status);
        if (isset($item['weight'])) {
            $set[] = '`weight` = ?';
            $params[] = $weight;
        }
        if (isset($item['weight_class_id'])) {
            $set[] = '`weight_class_id` = ?';
            $params[] = $weight_class_id;
        }
        $params[] = $product_id;
        $db->run('UPDATE ' . $db->t('product') . ' SET ' . implode(', ', $set) . ', `date_modified` = NOW() WHERE `product_id` = ?', $params);
        foreach ($langs as $lid => $lcode) {
            $n = isset($names[$lcode]) ? $names[$lcode] : $name;
            $exists = $db->one('SELECT 1 FROM ' . $db->t('product_description') . ' WHERE `product_id` = ? AND `language_id` = ?', array($product_id, $lid));
            if ($exists && isset($item['description'])) {
                $db->run('UPDATE ' . $db->t('product_description') . ' SET `name` = ?, `description` = ? WHERE `product_id` = ? AND `language_id` = ?', array($n, $description, $product_id, $lid));
            } elseif ($exists) {
                $db->run('UPDATE ' . $db->t('product_description') . ' SET `name` = ? WHERE `product_id` = ? AND `language_id` = ?', array($n, $product_id, $lid));
            } else {
                $db->run('INSERT INTO ' . $db->t('product_description') . ' (`product_id`, `language_id`, `name`, `description`, `tag`, `meta_title`, `meta_description`, `meta_keyword`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', array($product_id, $lid, $n, $description, '', $n, '', ''));
            }
        }
        foreach ($stores as $sid) {
            $db->run('INSERT IGNORE INTO ' . $db->t('product_to_store') . ' (`product_id`, `store_id`) VALUES (?, ?)', array($product_id, $sid));
        }
        if (isset($item['categories'])) {
            $db->run('DELETE FROM ' . $db->t('product_to_category') . ' WHERE `product_id` = ?', array($product_id));
        }
    }
    foreach (array_unique($cat_ids) as $cid) {
        $db->run('INSERT INTO ' . $db->t('product_to_category') . ' (`product_id`, `category_id`) VALUES (?, ?)', array($product_id, $cid));
    }
    if ($keyword !== '') {
        koppel_write_keyword($db, $schema, $keyword, $product_id, $stores, array_keys($langs));
    }
    if ($created) {
        // The storefront lists a product only with a row per store: written last, so a product
        // is never visible half-written.
        foreach ($stores as $sid) {
            if (!$schema['master_id']) {
                $db->run('INSERT INTO ' . $db->t('product_to_layout') . ' (`product_id`, `store_id`, `layout_id`) VALUES (?, ?, 0)', array($product_id, $sid));
            }
            $db->run('INSERT INTO ' . $db->t('product_to_store') . ' (`product_id`, `store_id`) VALUES (?, ?)', array($product_id, $sid));
        }
    }
    $GLOBALS['koppel_creating'] = 0;
    return array('code' => $code, 'product_id' => $product_id, 'created' => $created);
}

/** MyISAM: removes what a failed create wrote, so no half-written product stays behind. */
function koppel_remove_partial(KoppelDb $db, $schema, $product_id) {
    $GLOBALS['koppel_creating'] = 0;
    $tables = array('product_to_store', 'product_to_layout', 'product_to_category', 'product_description', 'product');
    if ($schema['product_code']) {
        $tables[] = 'product_code';
    }
    foreach ($tables as $t) {
        if ($t !== 'product_to_layout' || !$schema['master_id']) {
            $db->run('DELETE FROM ' . $db->t($t) . ' WHERE `product_id` = ?', array($product_id));
        }
    }
    if ($schema['seo_query']) {
        $db->run('DELETE FROM ' . $db->t('seo_url') . ' WHERE `query` = ?', array('product_id=' . $product_id));
    } else {
        $db->run('DELETE FROM ' . $db->t('seo_url') . " WHERE `key` = 'product_id' AND `value` = ?", array((string)$product_id));
    }
}

function koppel_setting_int(KoppelDb $db, $key, $default) {
    $r = $db->one('SELECT `value` FROM ' . $db->t('setting') . ' WHERE `store_id` = 0 AND `key` = ?', array($key));
    return $r && is_numeric($r['value']) ? (int)$r['value'] : $default;
}

/** OpenCart refuses a keyword used by another entity in the same store and language. */
function koppel_check_keyword(KoppelDb $db, $schema, $keyword, $product_id, $stores, $lang_ids) {
    if (!preg_match('/^[\p{L}\p{N}_.~-]{1,255}$/u', $keyword)) {
        throw new KoppelRecordError('keyword', 'SEO keyword may hold only letters, digits, - _ . ~');
    }
    $mine = $schema['seo_query'] ? 'product_id=' . $product_id : (string)$product_id;
    foreach ($stores as $sid) {
        if ($schema['seo_query']) {
            $r = $db->run('SELECT `query` AS q FROM ' . $db->t('seo_url') . ' WHERE `store_id` = ? AND `keyword` = ?', array($sid, $keyword));
        } else {
            $r = $db->run('SELECT CONCAT(`key`, \'=\', `value`) AS q FROM ' . $db->t('seo_url') . ' WHERE `store_id` = ? AND `keyword` = ?', array($sid, $keyword));
        }
        foreach ($r as $row) {
            if ($row['q'] !== ($schema['seo_query'] ? $mine : 'product_id=' . $mine)) {
                throw new KoppelRecordError('keyword', 'SEO keyword "' . $keyword . '" is already used by ' . $row['q']);
            }
        }
    }
}

function koppel_write_keyword(KoppelDb $db, $schema, $keyword, $product_id, $stores, $lang_ids) {
    if ($schema['seo_query']) {
        $db->run('DELETE FROM ' . $db->t('seo_url') . ' WHERE `query` = ?', array('product_id=' . $product_id));
    } else {
        $db->run('DELETE FROM ' . $db->t('seo_url') . " WHERE `key` = 'product_id' AND `value` = ?", array((string)$product_id));
    }
    foreach ($stores as $sid) {
        foreach ($lang_ids as $lid) {
            // One keyword per store and language; languages after the first get the language id
            // appended, as OpenCart needs them unique per store (admin/controller/catalog/product.php).
            $kw = $lid === $lang_ids[0] ? $keyword : $keyword . '-' . $lid;
            if ($schema['seo_query']) {
                $db->run('INSERT INTO ' . $db->t('seo_url') . ' (`store_id`, `language_id`, `query`, `keyword`) VALUES (?, ?, ?, ?)', array($sid, $lid, 'product_id=' . $product_id, $kw));
            } else {
                $db->run('INSERT INTO ' . $db->t('seo_url') . " (`store_id`, `language_id`, `key`, `value`, `keyword`, `sort_order`) VALUES (?, ?, 'product_id', ?, ?, 0)", array($sid, $lid, (string)$product_id, $kw));
            }
        }
    }
}

/**
 * Sets stock by SKU (or model): only oc_product.quantity, and the quantity of option values
 * where the item names them (product_option_value_id). A product that is not in the shop is the
 * record's fault (never created here).
 */
function op_stock_set(KoppelDb $db, $schema, $cfg, $req) {
    $key = koppel_key_field($req);
    $items = koppel_items($req);
    $codes = array();
    foreach ($items as $it) {
        if (is_array($it) && koppel_str($it, 'code') !== '') {
            $codes[] = koppel_str($it, 'code');
        }
    }
    $found = koppel_find_products($db, $schema, $key, $codes);
    $out = array();
    if ($schema['transactions']) {
        $db->link->begin_transaction();
    }
    foreach ($items as $it) {
        $code = is_array($it) ? koppel_str($it, 'code') : '';
        try {
            if (!isset($found[$code])) {
                throw new KoppelRecordError($key, 'no product with ' . $key . ' "' . $code . '" in the shop');
            }
            if (count($found[$code]) > 1) {
                throw new KoppelRecordError($key, count($found[$code]) . ' products have ' . $key . ' "' . $code . '"');
            }
            $q = koppel_int($it, 'quantity');
            $pid = $found[$code][0];
            $before = $db->one('SELECT `quantity` FROM ' . $db->t('product') . ' WHERE `product_id` = ?', array($pid));
            if (isset($it['options']) && is_array($it['options'])) {
                foreach ($it['options'] as $o) {
                    $povid = is_array($o) ? koppel_int($o, 'product_option_value_id', 1) : 0;
                    $oq = koppel_int($o, 'quantity');
                    $r = $db->run('UPDATE ' . $db->t('product_option_value') . ' SET `quantity` = ? WHERE `product_option_value_id` = ? AND `product_id` = ?', array($oq, $povid, $pid));
                    if (!$db->one('SELECT 1 FROM ' . $db->t('product_option_value') . ' WHERE `product_option_value_id` = ? AND `product_id` = ?', array($povid, $pid))) {
                        throw new KoppelRecordError('options', 'option value ' . $povid . ' is not an option of this product');
                    }
                }
            }
            // Stock alone does not touch date_modified, as OpenCart's own stock subtraction does not.
            $db->run('UPDATE ' . $db->t('product') . ' SET `quantity` = ? WHERE `product_id` = ?', array($q, $pid));
            $out[] = array('code' => $code, 'product_id' => $pid, 'before' => (int)$before['quantity'], 'quantity' => $q);
        } catch (KoppelRecordError $e) {
            $out[] = array('code' => $code, 'error' => array('field' => $e->field, 'message' => $e->getMessage()));
        }
    }
    if ($schema['transactions']) {
        $db->link->commit();
    }
    return array('items' => $out);
}

/** Read-only: current quantities for codes (koppel's plan). */
function op_stock_get(KoppelDb $db, $schema, $cfg, $req) {
    $key = koppel_key_field($req);
    $codes = array_values(array_filter(koppel_items($req), function ($c) { return is_string($c) && $c !== ''; }));
    $found = koppel_find_products($db, $schema, $key, $codes);
    $out = array();
    foreach ($codes as $c) {
        if (!isset($found[$c])) {
            $out[] = array('code' => $c, 'found' => false);
        } elseif (count($found[$c]) > 1) {
            $out[] = array('code' => $c, 'found' => true, 'error' => array('field' => $key, 'message' => count($found[$c]) . ' products have ' . $key . ' "' . $c . '"'));
        } else {
            $r = $db->one('SELECT `quantity` FROM ' . $db->t('product') . ' WHERE `product_id` = ?', array($found[$c][0]));
            $out[] = array('code' => $c, 'found' => true, 'product_id' => $found[$c][0], 'quantity' => (int)$r['quantity']);
        }
    }
    return array('items' => $out);
}

function koppel_statuses($req) {
    $st = array();
    if (isset($req['statuses']) && is_array($req['statuses'])) {
        foreach ($req['statuses'] as $s) {
            // order_status_id 0 is an order left at the confirm step ("missing order"): never exported.
            if (is_int($s) && $s > 0) {
                $st[] = $s;
            }
        }
    }
    if (!$st) {
        throw new KoppelError(400, 'request', 'statuses: at least one order_status_id > 0');
    }
    return array_values(array_unique($st));
}

function koppel_limit($req, $default) {
    $l = isset($req['limit']) && is_int($req['limit']) ? $req['limit'] : $default;
    return max(1, min(KOPPEL_MAX_BATCH, $l));
}

/** Keyset condition on (date_modified, id), local time; `after` = {modified: UTC, id}. */
function koppel_keyset($req, $tz, $col_time, $col_id, &$where, &$params) {
    if (isset($req['since']) && is_string($req['since']) && $req['since'] !== '') {
        $where[] = "$col_time > ?";
        $params[] = koppel_utc_to_local($req['since'], $tz);
    }
    if (isset($req['until']) && is_string($req['until']) && $req['until'] !== '') {
        $where[] = "$col_time <= ?";
        $params[] = koppel_utc_to_local($req['until'], $tz);
    }
    if (isset($req['after']) && is_array($req['after']) && isset($req['after']['id'])) {
        $id = (int)$req['after']['id'];
        $m = isset($req['after']['modified']) && is_string($req['after']['modified']) ? koppel_utc_to_local($req['after']['modified'], $tz) : null;
        if ($m === null) {
            $where[] = "$col_id > ?";
            $params[] = $id;
        } else {
            $where[] = "($col_time > ? OR ($col_time = ? AND $col_id > ?))";
            array_push($params, $m, $m, $id);
        }
    }
}

function koppel_country_names(KoppelDb $db, $schema) {
    if ($schema['country_description']) {
        // 4.1: names in oc_country_description; the ISO code is what koppel needs.
        return 'SELECT c.`country_id`, c.`iso_code_2` FROM ' . $db->t('country') . ' c';
    }
    return 'SELECT `country_id`, `iso_code_2` FROM ' . $db->t('country');
}

function koppel_country_map(KoppelDb $db, $schema) {
    $map = array();
    foreach ($db->run(koppel_country_names($db, $schema)) as $r) {
        $map[(int)$r['country_id']] = $r['iso_code_2'];
    }
    return $map;
}

function koppel_address($row, $prefix, $countries) {
    $cid = (int)$row[$prefix . 'country_id'];
    return array(
        'firstname' => $row[$prefix . 'firstname'],
        'lastname' => $row[$prefix . 'lastname'],
        'company' => $row[$prefix . 'company'],
        'address_1' => $row[$prefix . 'address_1'],
        'address_2' => $row[$prefix . 'address_2'],
        'city' => $row[$prefix . 'city'],
        'postcode' => $row[$prefix . 'postcode'],
        'country' => $row[$prefix . 'country'],
        'country_id' => $cid,
        'iso_code_2' => isset($countries[$cid]) ? $countries[$cid] : null,
        'zone' => $row[$prefix . 'zone'],
    );
}

function koppel_method($row, $schema, $which) {
    $raw = $row[$which . '_method'];
    if ($schema['payment_code']) {
        // 3.0: the title in *_method, the code in *_code.
        return array('name' => $raw, 'code' => $row[$which . '_code']);
    }
    // 4.0.2+: JSON {name, code}; older 4.0.x rows may hold plain text.
    $j = is_string($raw) ? json_decode($raw, true) : null;
    if (is_array($j)) {
        return array('name' => isset($j['name']) ? (string)$j['name'] : null, 'code' => isset($j['code']) ? (string)$j['code'] : null);
    }
    return array('name' => $raw, 'code' => null);
}

/**
 * Orders changed since a cursor, keyset-paged on (date_modified, order_id), only the given
 * statuses (never 0). Times are converted from shop-local to UTC. Lines come from
 * oc_order_product with the SKU (and model) of the product joined, their options, the totals of
 * oc_order_total, and the tax rates of each line's product tax class (so koppel can tell a fixed
 * amount tax such as an eco tax from VAT).
 */
function op_orders_list(KoppelDb $db, $schema, $cfg, $req) {
    $tz = koppel_timezone($db, $cfg);
    $statuses = koppel_statuses($req);
    $limit = koppel_limit($req, 50);
    $where = array('o.`order_status_id` IN (' . implode(',', array_fill(0, count($statuses), '?')) . ')', 'o.`order_status_id` > 0');
    $params = $statuses;
    if (isset($req['order_ids']) && is_array($req['order_ids'])) {
        $ids = array_values(array_filter($req['order_ids'], 'is_int'));
        if (!$ids) {
            return array('items' => array(), 'more' => false);
        }
        $where[] = 'o.`order_id` IN (' . implode(',', array_fill(0, count($ids), '?')) . ')';
        $params = array_merge($params, $ids);
    }
    koppel_keyset($req, $tz, 'o.`date_modified`', 'o.`order_id`', $where, $params);
    $params[] = $limit + 1;
    $rows = $db->run('SELECT o.* FROM ' . $db->t('order') . ' o WHERE ' . implode(' AND ', $where) . ' ORDER BY o.`date_modified`, o.`order_id` LIMIT ?', $params);
    $more = count($rows) > $limit;
    $rows = array_slice($rows, 0, $limit);
    $countries = koppel_country_map($db, $schema);
    $lang = koppel_default_language($db);
    $out = array();
    foreach ($rows as $o) {
        $oid = (int)$o['order_id'];
        if ($schema['product_code']) {
            $sku_sql = '(SELECT pc.`value` FROM ' . $db->t('product_code') . " pc WHERE pc.`product_id` = op.`product_id` AND pc.`code` = 'SKU' LIMIT 1)";
        } else {
            $sku_sql = 'p.`sku`';
        }
        $lines = $db->run('SELECT op.`order_product_id`, op.`product_id`, op.`name`, op.`model`, op.`quantity`, op.`price`, op.`total`, op.`tax`, ' . $sku_sql . ' AS sku, p.`model` AS product_model, p.`tax_class_id` FROM ' . $db->t('order_product') . ' op LEFT JOIN ' . $db->t('product') . ' p ON p.`product_id` = op.`product_id` WHERE op.`order_id` = ? ORDER BY op.`order_product_id`', array($oid));
        $classes = array();
        foreach ($lines as &$l) {
            $l['options'] = $db->run('SELECT `name`, `value`, `type`, `product_option_value_id` FROM ' . $db->t('order_option') . ' WHERE `order_id` = ? AND `order_product_id` = ?', array($oid, (int)$l['order_product_id']));
            $l['tax_class_id'] = $l['tax_class_id'] === null ? null : (int)$l['tax_class_id'];
            if ($l['tax_class_id']) {
                $classes[$l['tax_class_id']] = true;
            }
        }
        unset($l);
        $rates = array();
        foreach (array_keys($classes) as $cid) {
            $rates[(string)$cid] = $db->run('SELECT r.`tax_rate_id`, r.`name`, r.`rate`, r.`type`, r.`geo_zone_id`, tr.`based` FROM ' . $db->t('tax_rule') . ' tr JOIN ' . $db->t('tax_rate') . ' r ON r.`tax_rate_id` = tr.`tax_rate_id` WHERE tr.`tax_class_id` = ? ORDER BY tr.`priority`', array($cid));
        }
        $totals = $db->run('SELECT `code`, `title`, `value`, `sort_order` FROM ' . $db->t('order_total') . ' WHERE `order_id` = ? ORDER BY `sort_order`, `order_total_id`', array($oid));
        $status = $db->one('SELECT `name` FROM ' . $db->t('order_status') . ' WHERE `order_status_id` = ? AND `language_id` = ?', array((int)$o['order_status_id'], $lang));
        $payment = koppel_address($o, 'payment_', $countries);
        // 4.x's default checkout may ask only for a shipping address: the payment_* columns then
        // stay empty. Say so; koppel bills to the shipping address.
        $payment_empty = trim((string)$payment['address_1']) === '' && trim((string)$payment['city']) === '' && $payment['country_id'] === 0;
        $out[] = array(
            'order_id' => $oid,
            'store_id' => (int)$o['store_id'],
            'invoice_prefix' => $o['invoice_prefix'],
            'invoice_no' => (int)$o['invoice_no'],
            'customer_id' => (int)$o['customer_id'],
            'customer_group_id' => (int)$o['customer_group_id'],
            'firstname' => $o['firstname'],
            'lastname' => $o['lastname'],
            'email' => $o['email'],
            'telephone' => $o['telephone'],
            'payment_address' => $payment_empty ? null : $payment,
            'shipping_address' => trim((string)$o['shipping_address_1']) === '' && (int)$o['shipping_country_id'] === 0 ? null : koppel_address($o, 'shipping_', $countries),
            'payment_method' => koppel_method($o, $schema, 'payment'),
            'shipping_method' => koppel_method($o, $schema, 'shipping'),
            'comment' => $o['comment'],
            'total' => $o['total'],
            'order_status_id' => (int)$o['order_status_id'],
            'order_status' => $status ? $status['name'] : null,
            'currency_code' => $o['currency_code'],
            'currency_value' => $o['currency_value'],
            'date_added' => koppel_local_to_utc($o['date_added'], $tz),
            'date_modified' => koppel_local_to_utc($o['date_modified'], $tz),
            'lines' => $lines,
            'totals' => $totals,
            'tax_rates' => (object)$rates,
        );
    }
    return array('items' => $out, 'more' => $more);
}

/**
 * Customers. oc_customer and oc_address have no modification date in any version, so the bridge
 * keeps a fingerprint per customer in its own table <prefix>koppel_customer_state: on the first
 * page of a read (no `after`) it hashes every customer's row and addresses and, where the hash
 * differs from the stored one (or there is none), records changed_at = now (UTC). Pages are then
 * keyset-paged on (changed_at, customer_id), so a read is stable while customers change.
 */
function op_customers_list(KoppelDb $db, $schema, $cfg, $req) {
    $limit = koppel_limit($req, 100);
    $state = $db->t('koppel_customer_state');
    $db->link->query('CREATE TABLE IF NOT EXISTS ' . $state . ' (`customer_id` int(11) NOT NULL, `fingerprint` char(64) NOT NULL, `changed_at` datetime NOT NULL, PRIMARY KEY (`customer_id`), KEY `changed` (`changed_at`, `customer_id`)) ENGINE=' . ($schema['transactions'] ? 'InnoDB' : 'MyISAM') . ' DEFAULT CHARSET=ascii');
    $countries = koppel_country_map($db, $schema);
    $utc = new DateTimeZone('UTC');
    if (!isset($req['after'])) {
        // A change is stamped with the read's upper bound when it has one (koppel caps a read at
        // the time its run started), so the read that finds a change also returns it.
        $now = (new DateTime('now', $utc))->format('Y-m-d H:i:s');
        if (isset($req['until']) && is_string($req['until']) && $req['until'] !== '') {
            $until = koppel_utc_to_local($req['until'], $utc);
            if ($until < $now) {
                $now = $until;
            }
        }
        $known = array();
        foreach ($db->run('SELECT `customer_id`, `fingerprint` FROM ' . $state) as $r) {
            $known[(int)$r['customer_id']] = $r['fingerprint'];
        }
        $last = 0;
        do {
            $batch = $db->run('SELECT * FROM ' . $db->t('customer') . ' WHERE `customer_id` > ? ORDER BY `customer_id` LIMIT 500', array($last));
            foreach ($batch as $c) {
                $cid = (int)$c['customer_id'];
                $last = $cid;
                $fp = hash('sha256', json_encode(koppel_customer_view($db, $schema, $c, $countries)));
                if (!isset($known[$cid])) {
                    $db->run('INSERT INTO ' . $state . ' (`customer_id`, `fingerprint`, `changed_at`) VALUES (?, ?, ?)', array($cid, $fp, $now));
                } elseif ($known[$cid] !== $fp) {
                    $db->run('UPDATE ' . $state . ' SET `fingerprint` = ?, `changed_at` = ? WHERE `customer_id` = ?', array($fp, $now, $cid));
                }
            }
        } while (count($batch) === 500);
    }
    $where = array('1 = 1');
    $params = array();
    koppel_keyset($req, $utc, 's.`changed_at`', 's.`customer_id`', $where, $params);
    $params[] = $limit + 1;
    $rows = $db->run('SELECT c.*, s.`changed_at` FROM ' . $state . ' s JOIN ' . $db->t('customer') . ' c ON c.`customer_id` = s.`customer_id` WHERE ' . implode(' AND ', $where) . ' ORDER BY s.`changed_at`, s.`customer_id` LIMIT ?', $params);
    $more = count($rows) > $limit;
    $out = array();
    foreach (array_slice($rows, 0, $limit) as $c) {
        $v = koppel_customer_view($db, $schema, $c, $countries);
        $v['date_added'] = koppel_local_to_utc($c['date_added'], koppel_timezone($db, $cfg));
        $v['changed_at'] = koppel_local_to_utc($c['changed_at'], $utc);
        $out[] = $v;
    }
    return array('items' => $out, 'more' => $more);
}

function koppel_customer_view(KoppelDb $db, $schema, $c, $countries) {
    $cid = (int)$c['customer_id'];
    $addresses = array();
    $default = $schema['address_default'] ? null : (isset($c['address_id']) ? (int)$c['address_id'] : 0);
    foreach ($db->run('SELECT * FROM ' . $db->t('address') . ' WHERE `customer_id` = ? ORDER BY `address_id`', array($cid)) as $a) {
        $is_default = $schema['address_default'] ? (bool)$a['default'] : ((int)$a['address_id'] === $default);
        $aid = (int)$a['country_id'];
        $addresses[] = array(
            'address_id' => (int)$a['address_id'],
            'default' => $is_default,
            'firstname' => $a['firstname'],
            'lastname' => $a['lastname'],
            'company' => $a['company'],
            'address_1' => $a['address_1'],
            'address_2' => $a['address_2'],
            'city' => $a['city'],
            'postcode' => $a['postcode'],
            'country_id' => $aid,
            'iso_code_2' => isset($countries[$aid]) ? $countries[$aid] : null,
        );
    }
    return array(
        'customer_id' => $cid,
        'customer_group_id' => (int)$c['customer_group_id'],
        'firstname' => $c['firstname'],
        'lastname' => $c['lastname'],
        'email' => $c['email'],
        'telephone' => $c['telephone'],
        'status' => (int)$c['status'],
        'addresses' => $addresses,
    );
}

function koppel_setting_list(KoppelDb $db, $key) {
    $r = $db->one('SELECT `value` FROM ' . $db->t('setting') . ' WHERE `store_id` = 0 AND `key` = ?', array($key));
    $v = $r ? json_decode($r['value'], true) : null;
    return is_array($v) ? array_map('intval', $v) : array();
}

/**
 * Read-only: for each {order_id, marker}: the order's status and whether a history row whose
 * comment carries the marker exists (koppel's plan and its crash recovery).
 */
function op_history_check(KoppelDb $db, $schema, $cfg, $req) {
    $out = array();
    foreach (koppel_items($req) as $it) {
        $oid = is_array($it) && isset($it['order_id']) && is_int($it['order_id']) ? $it['order_id'] : 0;
        $marker = is_array($it) ? koppel_str($it, 'marker') : '';
        $o = $db->one('SELECT `order_status_id` FROM ' . $db->t('order') . ' WHERE `order_id` = ?', array($oid));
        if (!$o) {
            $out[] = array('order_id' => $oid, 'found' => false);
            continue;
        }
        $h = $marker === '' ? null : $db->one('SELECT `order_history_id` FROM ' . $db->t('order_history') . ' WHERE `order_id` = ? AND LOCATE(?, `comment`) > 0 ORDER BY `order_history_id` LIMIT 1', array($oid, $marker));
        $out[] = array('order_id' => $oid, 'found' => true, 'order_status_id' => (int)$o['order_status_id'], 'history_id' => $h ? (int)$h['order_history_id'] : null);
    }
    return array('items' => $out);
}

/**
 * Adds order history, as OpenCart's addOrderHistory records it (catalog/model/checkout/order.php
 * addOrderHistory in 3.0, addHistory in 4.x): UPDATE oc_order SET order_status_id, date_modified =
 * NOW(); INSERT oc_order_history (order_id, order_status_id, notify, comment, date_added = NOW()).
 * order_status_id null keeps the current status (a comment only).
 *
 * Side effects of OpenCart's own function the bridge does deliberately NOT have, and why:
 *  - stock: OpenCart subtracts product and option stock when an order first enters a processing or
 *    complete status (config_processing_status / config_complete_status) and restores it when it
 *    leaves them. koppel's stock flow owns the quantities, so a change that would cross that
 *    boundary is refused for the record (do it in the OpenCart admin, which runs the stock logic);
 *  - no e-mail to the customer (notify is stored as 0), no events, no fraud checks, no
 *    coupon/voucher/reward history (those are written when the order is first confirmed).
 * The item's `marker` is searched in the order's history first: a repeated call adds nothing
 * (exactly once across retries and crashes).
 */
function op_history_add(KoppelDb $db, $schema, $cfg, $req) {
    $active = array_merge(koppel_setting_list($db, 'config_processing_status'), koppel_setting_list($db, 'config_complete_status'));
    $out = array();
    foreach (koppel_items($req) as $it) {
        $oid = is_array($it) && isset($it['order_id']) && is_int($it['order_id']) ? $it['order_id'] : 0;
        if ($schema['transactions']) {
            $db->link->begin_transaction();
        }
        try {
            $marker = koppel_str($it, 'marker');
            $comment = koppel_str($it, 'comment');
            if ($marker === '' || strpos($comment, $marker) === false) {
                throw new KoppelRecordError('marker', 'must be non-empty and part of the comment');
            }
            $o = $db->one('SELECT `order_status_id` FROM ' . $db->t('order') . ' WHERE `order_id` = ?' . ($schema['transactions'] ? ' FOR UPDATE' : ''), array($oid));
            if (!$o) {
                throw new KoppelRecordError('order_id', 'no order ' . $oid . ' in the shop');
            }
            $old = (int)$o['order_status_id'];
            if ($old === 0) {
                throw new KoppelRecordError('order_id', 'order ' . $oid . ' was never confirmed (status 0)');
            }
            $h = $db->one('SELECT `order_history_id` FROM ' . $db->t('order_history') . ' WHERE `order_id` = ? AND LOCATE(?, `comment`) > 0 LIMIT 1', array($oid, $marker));
            if ($h) {
                if ($schema['transactions']) {
                    $db->link->commit();
                }
                $out[] = array('order_id' => $oid, 'history_id' => (int)$h['order_history_id'], 'existing' => true);
                continue;
            }
            $new = isset($it['order_status_id']) && is_int($it['order_status_id']) ? $it['order_status_id'] : $old;
            if ($new <= 0 || !$db->one('SELECT 1 FROM ' . $db->t('order_status') . ' WHERE `order_status_id` = ?', array($new))) {
                throw new KoppelRecordError('order_status_id', 'status ' . $new . ' does not exist in the shop');
            }
            if (in_array($old, $active, true) !== in_array($new, $active, true)) {
                throw new KoppelRecordError('order_status_id', 'moving order ' . $oid . ' from status ' . $old . ' to ' . $new . ' would change stock in OpenCart; the bridge does not do that');
            }
            $db->run('UPDATE ' . $db->t('order') . ' SET `order_status_id` = ?, `date_modified` = NOW() WHERE `order_id` = ?', array($new, $oid));
            $r = $db->run('INSERT INTO ' . $db->t('order_history') . ' (`order_id`, `order_status_id`, `notify`, `comment`, `date_added`) VALUES (?, ?, 0, ?, NOW())', array($oid, $new, $comment));
            if ($schema['transactions']) {
                $db->link->commit();
            }
            $out[] = array('order_id' => $oid, 'history_id' => (int)$r['id'], 'existing' => false);
        } catch (KoppelRecordError $e) {
            if ($schema['transactions']) {
                $db->link->rollback();
            }
            $out[] = array('order_id' => $oid, 'error' => array('field' => $e->field, 'message' => $e->getMessage()));
        }
    }
    return array('items' => $out);
}

// ------------------------------------------------------------------------------------------
// Dispatch
// ------------------------------------------------------------------------------------------

function koppel_main() {
    $method = isset($_SERVER['REQUEST_METHOD']) ? $_SERVER['REQUEST_METHOD'] : '';
    $uri = isset($_SERVER['REQUEST_URI']) ? $_SERVER['REQUEST_URI'] : '';
    if ($method !== 'POST') {
        koppel_fail(405, 'method', 'only POST');
    }
    $len = isset($_SERVER['CONTENT_LENGTH']) ? (int)$_SERVER['CONTENT_LENGTH'] : 0;
    if ($len > KOPPEL_MAX_BODY) {
        koppel_fail(413, 'request', 'body too large');
    }
    $body = (string)file_get_contents('php://input', false, null, 0, KOPPEL_MAX_BODY + 1);
    $cfg = koppel_load_config();
    try {
        $db = new KoppelDb();
        koppel_authenticate($db, $cfg, $method, $uri, $body);
        $ops = array(
            'ping' => 'op_ping',
            'products.get' => 'op_products_get',
            'products.plan' => 'op_products_plan',
            'products.upsert' => 'op_products_upsert',
            'stock.get' => 'op_stock_get',
            'stock.set' => 'op_stock_set',
            'orders.list' => 'op_orders_list',
            'customers.list' => 'op_customers_list',
            'history.check' => 'op_history_check',
            'history.add' => 'op_history_add',
        );
        $op = isset($_GET['op']) && is_string($_GET['op']) ? $_GET['op'] : '';
        if (!isset($ops[$op])) {
            throw new KoppelError(404, 'operation', 'unknown operation');
        }
        $req = $body === '' ? array() : json_decode($body, true);
        if (!is_array($req)) {
            throw new KoppelError(400, 'request', 'body is not a JSON object');
        }
        $schema = koppel_schema($db);
        // NOW() in shop-local time, as OpenCart writes its DATETIMEs.
        koppel_session_timezone($db, koppel_timezone($db, $cfg));
        koppel_respond(200, call_user_func($ops[$op], $db, $schema, $cfg, $req));
    } catch (KoppelError $e) {
        koppel_fail($e->status, $e->kind, $e->getMessage());
    } catch (mysqli_sql_exception $e) {
        error_log('koppel-bridge: database error: ' . $e->getMessage());
        koppel_fail(500, 'database', 'database error in the bridge (see the web server error log)');
    }
}

koppel_main();
