//! The `vault` and `unvault` filters of ansible-core 2.19 (`plugins/filter/encryption.py`),
//! on orc's vault format (src/vault/): `{{ data | vault(secret, salt=None,
//! vault_id='filter_default', wrap_object=False) }}` encrypts a string with the password given
//! to the filter (not the run's passwords), `{{ text | unvault(secret, vault_id='filter_default')
//! }}` decrypts one, and returns a string that is not vault text as it is.
//!
//! Both the plaintext and the password a filter is given are registered as secrets
//! (src/secrets/censor.rs), so what `unvault` returns is censored in every output, as every
//! other value that came out of a vault (docs/vault.md).

use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error};
use zeroize::Zeroizing;

use super::filters::{err, type_debug};
use super::pyfmt;
use crate::vault::{Keyring, Origin, VaultError, VaultSecret};

/// The vault id the filters use when none is given (ansible-core's default).
const FILTER_DEFAULT_ID: &str = "filter_default";

/// Registers `vault` and `unvault`.
pub(crate) fn register(env: &mut Environment<'static>) {
    filter!(env, "vault", vault);
    filter!(env, "unvault", unvault);
}

/// `<class 'int'>`: how Python names a value's type in the filters' messages.
fn class(v: &Value) -> String {
    format!("<class '{}'>", type_debug(v))
}

/// A positional argument, else the keyword of the same name (the keyword is then used up).
fn arg(positional: Option<Value>, kwargs: &Kwargs, name: &str) -> Result<Option<Value>, Error> {
    match positional {
        Some(v) => Ok(Some(v)),
        None => kwargs.get::<Option<Value>>(name),
    }
}

/// The vault id: `vault_id`, else the undocumented `vaultid` ansible-core still takes.
fn vault_id(positional: Option<Value>, kwargs: &Kwargs) -> Result<String, Error> {
    let id = arg(positional, kwargs, "vault_id")?.filter(|v| !v.is_none() && !v.is_undefined());
    let old = kwargs.get::<Option<Value>>("vaultid")?.filter(|v| !v.is_none() && !v.is_undefined());
    Ok(match (id, old) {
        (Some(id), _) => pyfmt::to_str(&id),
        (None, Some(old)) => pyfmt::to_str(&old),
        (None, None) => FILTER_DEFAULT_ID.to_string(),
    })
}

/// The filter's password, which must be a string.
fn password(secret: &Value, message: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    match secret.as_str() {
        Some(s) if secret.kind() == ValueKind::String => {
            crate::secrets::register(s);
            Ok(Zeroizing::new(s.as_bytes().to_vec()))
        }
        _ => Err(err(format!("{message}, instead we got {}.", class(secret)))),
    }
}

/// `vault(secret, salt=None, vault_id='filter_default', wrap_object=False)`: `data` as vault
/// text (format 1.2 with the vault id as its label, 1.1 for `default`). `wrap_object` is
/// accepted and changes nothing: orc's values carry no vault type (docs/vault.md).
fn vault(data: &Value, secret: &Value, rest: Rest<ValueOrKwargs>) -> Result<String, Error> {
    // Three optional positionals and the keywords: more than minijinja's functions take at once.
    let rest: Vec<Value> = rest.0.into_iter().map(Value::from).collect();
    let (salt, id, wrap_object, kwargs): (Option<Value>, Option<Value>, Option<Value>, Kwargs) = from_args(&rest)?;
    let salt = arg(salt, &kwargs, "salt")?.filter(|v| !v.is_none() && !v.is_undefined());
    let id = vault_id(id, &kwargs)?;
    let _ = arg(wrap_object, &kwargs, "wrap_object")?;
    kwargs.assert_all_used()?;
    let password = password(secret, "Secret passed is required to be a string")?;
    let plain = match data.as_str() {
        Some(s) if data.kind() == ValueKind::String => s,
        _ => return Err(err(format!("Can only vault strings, instead we got {}.", class(data)))),
    };
    crate::secrets::register(plain);
    let salt = salt.map(|s| pyfmt::to_str(&s));
    if salt.as_deref() == Some("") {
        return Err(err("Unable to encrypt: Empty or invalid salt passed to encrypt()"));
    }
    let secret = VaultSecret::new(id.clone(), password);
    crate::vault::encrypt(plain.as_bytes(), &secret, &id, salt.as_deref().map(str::as_bytes), &origin("vault")).map_err(
        |e| match e {
            VaultError::AlreadyEncrypted { .. } => err("Unable to encrypt: input is already encrypted"),
            other => err(format!("Unable to encrypt: {other}")),
        },
    )
}

/// `unvault(secret, vault_id='filter_default')`: the plaintext of vault text, decrypted with
/// `secret` only; a string that is not vault text is returned as it is. The plaintext is a
/// secret from then on.
fn unvault(text: &Value, secret: &Value, id: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let id = vault_id(id, &kwargs)?;
    kwargs.assert_all_used()?;
    let password = password(secret, "Secret passed is required to be as string")?;
    let text = match text.as_str() {
        Some(s) if text.kind() == ValueKind::String => s,
        _ => return Err(err(format!("Vault should be in the form of a string, instead we got {}.", class(text)))),
    };
    if !crate::vault::is_encrypted(text.as_bytes()) {
        return Ok(text.to_string());
    }
    let ring = Keyring::new(vec![VaultSecret::new(id, password)], crate::vault::DEFAULT_ID, false);
    let plain = ring.decrypt(text.as_bytes(), &origin("unvault")).map_err(|e| match e {
        VaultError::WrongPassword { .. } | VaultError::MissingVaultId { .. } => {
            err("Unable to decrypt: Decryption failed (no vault secrets were found that could decrypt).")
        }
        other => err(format!("Unable to decrypt: {other}")),
    })?;
    let plain = String::from_utf8_lossy(&plain.plaintext).into_owned();
    crate::secrets::register(&plain);
    Ok(plain)
}

/// What the vault layer's messages name as the data's origin.
fn origin(filter: &str) -> Origin {
    Origin { path: format!("the {filter} filter's input"), line: None }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::{context, Templar};

    /// What ansible-core 2.19 prints for `'plain-text-val' | vault('hunter2pw', salt='fixedsalt')`.
    const ANSIBLE_TEXT: &str = "3636363937383635363437333631366337340a633831373961396361613738393234343636663362\n\
        37666165386338333639316666623962393538326538663835326639303533306530316338656666\n\
        6130320a6531646432663831356133353433643561326264663336646361386236353930\n";

    fn render(expr: &str) -> Result<serde_json::Value, String> {
        let vars = json!({
            "pw": "hunter2pw",
            "from_ansible": format!("$ANSIBLE_VAULT;1.1;AES256\n{ANSIBLE_TEXT}"),
            "not_hex": "$ANSIBLE_VAULT;1.1;AES256\nzz\n",
        });
        let serde_json::Value::Object(vars) = vars else { unreachable!() };
        Templar::new().render_str(expr, &context(&vars)).map_err(|e| e.to_string())
    }

    #[test]
    fn vault_writes_what_ansible_core_writes() {
        let v = render("{{ 'plain-text-val' | vault(pw, salt='fixedsalt') }}").unwrap();
        assert_eq!(v, json!(format!("$ANSIBLE_VAULT;1.2;AES256;filter_default\n{ANSIBLE_TEXT}")));
        let v = render("{{ 'plain-text-val' | ansible.builtin.vault(pw, 'fixedsalt', 'prod') }}").unwrap();
        assert_eq!(v, json!(format!("$ANSIBLE_VAULT;1.2;AES256;prod\n{ANSIBLE_TEXT}")));
        let v = render("{{ 'plain-text-val' | vault(pw, salt='fixedsalt', vault_id='default', wrap_object=true) }}");
        assert_eq!(v.unwrap(), json!(format!("$ANSIBLE_VAULT;1.1;AES256\n{ANSIBLE_TEXT}")));
        // A fresh salt each time without one.
        assert_ne!(render("{{ 'x' | vault(pw) }}").unwrap(), render("{{ 'x' | vault(pw) }}").unwrap());
    }

    #[test]
    fn unvault_opens_it_and_passes_other_strings_through() {
        assert_eq!(render("{{ 'plain-text-val' | vault(pw) | unvault(pw) }}").unwrap(), json!("plain-text-val"));
        let labelled = "{{ 'plain-text-val' | vault(pw, vault_id='prod') | unvault(pw, vault_id='other') }}";
        assert_eq!(render(labelled).unwrap(), json!("plain-text-val"));
        assert_eq!(render("{{ from_ansible | unvault(pw) }}").unwrap(), json!("plain-text-val"));
        assert_eq!(render("{{ 'not vaulted' | unvault(pw) }}").unwrap(), json!("not vaulted"));
        // What it returns is a secret for the rest of the run.
        render("{{ 'Unvaulted-S3cret' | vault(pw) | unvault(pw) }}").unwrap();
        assert_eq!(crate::secrets::censor("x=Unvaulted-S3cret"), "x=********");
    }

    #[test]
    fn bad_input_fails_as_in_ansible_core() {
        let e = render("{{ 'x' | vault(pw) | unvault('wrong') }}").unwrap_err();
        assert!(
            e.contains("Unable to decrypt: Decryption failed (no vault secrets were found that could decrypt)."),
            "{e}"
        );
        let e = render("{{ 42 | vault(pw) }}").unwrap_err();
        assert!(e.contains("Can only vault strings, instead we got <class 'int'>."), "{e}");
        let e = render("{{ 'x' | vault(42) }}").unwrap_err();
        assert!(e.contains("Secret passed is required to be a string, instead we got <class 'int'>."), "{e}");
        let e = render("{{ 'x' | vault(pw, salt='') }}").unwrap_err();
        assert!(e.contains("Unable to encrypt: Empty or invalid salt passed to encrypt()"), "{e}");
        let e = render("{{ ['x'] | unvault(pw) }}").unwrap_err();
        assert!(e.contains("Vault should be in the form of a string, instead we got <class 'list'>."), "{e}");
        let e = render("{{ not_hex | unvault(pw) }}").unwrap_err();
        assert!(e.contains("Unable to decrypt: ") && e.contains("not hexadecimal"), "{e}");
        let e = render("{{ 'x' | vault(pw, colour='red') }}").unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }
}
