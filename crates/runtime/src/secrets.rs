//! Secrets in the config: `${VAR}` inside any string takes the value of an environment
//! variable, and a key `<name>_file = "path"` supplies `<name>` from a file (path relative to
//! the config file). Resolved before any connector config is parsed. The resolved values are
//! collected so that every message koppel prints can be redacted.

use std::path::Path;

use serde_json::{Map, Value};

/// A problem resolving a secret: the key path and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError {
    /// Key path, e.g. `pairs[0].accounting.client_key`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Where variables come from (the process environment, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Resolves `${VAR}` and `<name>_file` everywhere in `value`. Returns the substituted values
/// (to redact) or every error found.
pub fn resolve(value: &mut Value, base_dir: &Path, env: Env<'_>) -> Result<Vec<String>, Vec<SecretError>> {
    let mut secrets = Vec::new();
    let mut errors = Vec::new();
    walk(value, "", base_dir, env, &mut secrets, &mut errors);
    if errors.is_empty() {
        Ok(secrets)
    } else {
        Err(errors)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(
    value: &mut Value,
    path: &str,
    base_dir: &Path,
    env: Env<'_>,
    secrets: &mut Vec<String>,
    errors: &mut Vec<SecretError>,
) {
    match value {
        Value::String(s) => match expand(s, env) {
            Ok(Some((expanded, used))) => {
                secrets.extend(used.into_iter().filter(|v| !v.is_empty()));
                *s = expanded;
            }
            Ok(None) => {}
            Err(message) => errors.push(SecretError {
                path: path.to_owned(),
                message,
            }),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}[{i}]"), base_dir, env, secrets, errors);
            }
        }
        Value::Object(map) => {
            files(map, path, base_dir, env, secrets, errors);
            for (k, v) in map.iter_mut() {
                walk(v, &join(path, k), base_dir, env, secrets, errors);
            }
        }
        _ => {}
    }
}

/// Replaces every `<name>_file` key of a table by `<name>` with the file's content.
fn files(
    map: &mut Map<String, Value>,
    path: &str,
    base_dir: &Path,
    env: Env<'_>,
    secrets: &mut Vec<String>,
    errors: &mut Vec<SecretError>,
) {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.len() > 5 && k.ends_with("_file"))
        .cloned()
        .collect();
    for key in keys {
        let name = key.trim_end_matches("_file").to_owned();
        let key_path = join(path, &key);
        let Some(Value::String(raw)) = map.get(&key).cloned() else {
            errors.push(SecretError {
                path: key_path,
                message: "must be a string: the path of a file holding the secret".into(),
            });
            continue;
        };
        if map.contains_key(&name) {
            errors.push(SecretError {
                path: key_path,
                message: format!("both `{name}` and `{key}` are set; keep one"),
            });
            continue;
        }
        let file = match expand(&raw, env) {
            Ok(Some((expanded, _))) => expanded,
            Ok(None) => raw.clone(),
            Err(message) => {
                errors.push(SecretError {
                    path: key_path,
                    message,
                });
                continue;
            }
        };
        let file_path = base_dir.join(&file);
        match std::fs::read_to_string(&file_path) {
            Ok(content) => {
                let content = content.trim_end_matches(['\r', '\n']).to_owned();
                if content.is_empty() {
                    errors.push(SecretError {
                        path: key_path,
                        message: format!("file {} is empty", file_path.display()),
                    });
                    continue;
                }
                secrets.push(content.clone());
                map.remove(&key);
                map.insert(name, Value::String(content));
            }
            Err(e) => errors.push(SecretError {
                path: key_path,
                message: format!("cannot read secret file {}: {e}", file_path.display()),
            }),
        }
    }
}

/// Expands `${VAR}` in `s` (`$${` is a literal `${`). `None` when there is nothing to expand;
/// otherwise the new string and the values substituted.
fn expand(s: &str, env: Env<'_>) -> Result<Option<(String, Vec<String>)>, String> {
    if !s.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut used = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        if rest[..pos].ends_with('$') {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            return Err("unclosed `${`; write `${VARIABLE}`".into());
        };
        let var = &after[..end];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`${{{var}}}` is not a variable name (letters, digits and `_`)"
            ));
        }
        match env(var) {
            Some(v) => {
                out.push_str(&v);
                used.push(v);
            }
            None => {
                return Err(format!(
                    "environment variable {var} is not set; export it (or put the value in a file and use `<key>_file`)"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Some((out, used)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("s3cr3t".into()),
            "HOST" => Some("shop.example".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_expand_anywhere_in_a_string() {
        let mut v = json!({"pairs": [{"shop": {"base_url": "https://${HOST}/", "token": "${KEY}", "plain": "a $ b"}}]});
        let secrets = resolve(&mut v, Path::new("."), &env).unwrap();
        assert_eq!(v["pairs"][0]["shop"]["base_url"], "https://shop.example/");
        assert_eq!(v["pairs"][0]["shop"]["token"], "s3cr3t");
        assert_eq!(v["pairs"][0]["shop"]["plain"], "a $ b");
        assert!(secrets.contains(&"s3cr3t".to_string()));
    }

    #[test]
    fn missing_variable_names_key_and_variable() {
        let mut v = json!({"pairs": [{"shop": {"token": "${NOPE}"}}]});
        let errs = resolve(&mut v, Path::new("."), &env).unwrap_err();
        assert_eq!(errs[0].path, "pairs[0].shop.token");
        assert!(errs[0].message.contains("NOPE"), "{}", errs[0].message);
    }

    #[test]
    fn file_keys_supply_the_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.txt"), "from-file\n").unwrap();
        let mut v = json!({"a": {"client_key_file": "key.txt"}});
        let secrets = resolve(&mut v, dir.path(), &env).unwrap();
        assert_eq!(v, json!({"a": {"client_key": "from-file"}}));
        assert_eq!(secrets, vec!["from-file".to_string()]);

        let mut v = json!({"a": {"client_key_file": "missing.txt"}});
        let errs = resolve(&mut v, dir.path(), &env).unwrap_err();
        assert_eq!(errs[0].path, "a.client_key_file");

        let mut v = json!({"a": {"client_key_file": "key.txt", "client_key": "x"}});
        assert!(resolve(&mut v, dir.path(), &env).is_err());
    }

    #[test]
    fn dollar_dollar_escapes() {
        let mut v = json!({"a": "$${KEY}"});
        resolve(&mut v, Path::new("."), &env).unwrap();
        assert_eq!(v["a"], "${KEY}");
    }
}
